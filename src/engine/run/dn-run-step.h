/* dn-run-step.h: one training step on a batch, the one every schedule shares
 * (dn-run-step.c).
 *
 * A schedule (dn-run.c: plain or dendritic; dn-continual.c: a sequence of tasks;
 * bench/dn-bench.c) puts a batch into the step's host buffers, calls dn_run_step()
 * and then does its own update: an optimizer step and whatever it decides from
 * the loss. The step uploads the batch through the backend, runs forward, the
 * loss and its finite check, counts the correct answers, zeroes the gradients
 * and runs backward, so every pointer that reaches the network or the loss is
 * memory of the network's backend.
 *
 * Buffers, for a batch of n <= capacity samples:
 *   x (n, sample) and y (n): where the caller writes the batch (host memory).
 *     On a backend whose memory is host memory (DnBackend.host_memory) they are
 *     x_dev and y_dev themselves and nothing is copied; on any other they are
 *     host copies that dn_run_step_upload() sends to x_dev and y_dev.
 *   x_dev, y_dev, targets (capacity, cols), dlogits (capacity, cols): backend memory.
 */
#pragma once

#include "dn-train.h"

G_BEGIN_DECLS

typedef struct {
    DnBackend *be;
    DnLossKind loss;
    float label_smoothing;
    int capacity; /* samples a batch may hold */
    gsize sample; /* input floats per sample */
    int cols;     /* network outputs per sample */
    float *x;     /* host-addressable: the caller's batch */
    int32_t *y;
    float *x_dev; /* backend memory */
    int32_t *y_dev;
    float *targets; /* the one-hot targets of the MSE and BCE losses */
    float *dlogits; /* d(mean loss)/d(outputs), what backward starts from */
    /* Seconds spent uploading and in the loss, counted while the network profiles
     * (DnCtx.profile) */
    double upload_seconds, loss_seconds;
} DnRunStep;

/* Buffers for batches of up to `capacity` samples of `sample` floats into a network
 * of `cols` outputs, trained with `loss`; NULL with "out of memory: a batch of B needs
 * N MB for <what>; lower "batch_size"" when a buffer does not fit. */
DnRunStep *dn_run_step_new (DnBackend *be, gsize sample, int cols, int capacity, DnLossKind loss,
                            float label_smoothing, GError **error);
void dn_run_step_free (DnRunStep *s);

/* Sends the first n samples of x and y to x_dev and y_dev (nothing to do when they
 * are the same memory). dn_run_step() calls it; a caller that only evaluates calls
 * it before its forward pass. */
void dn_run_step_upload (DnRunStep *s, int n);

/* One step on the n samples in x and y: upload, forward (seed: dropout and other
 * random layers), loss, finite check, correct count, zero grad, backward. The
 * gradients are then in net->grads and the layers' dout for the caller's update.
 * *loss: the batch's mean loss; *correct: samples whose largest output is their
 * label. A loss that is NaN or infinite is a DN_ERROR_NUMERIC "the training loss
 * became NaN; lower the learning rate or check the data", which the caller prefixes
 * with where it happened (g_prefix_error); the gradients are then left as they were. */
gboolean dn_run_step (DnRunStep *s, DnNetwork *net, int n, uint64_t seed, double *loss,
                      int *correct, GError **error);

/* Accuracy (percent) and mean loss (without label smoothing) of `net` on `data`,
 * evaluated in batches of the step's capacity through its buffers; NaN for an
 * empty or absent dataset. The network is put in evaluation mode for the pass
 * and given back in the mode it was in. tally (may be NULL): a confusion matrix
 * of at least the network's outputs classes that every sample is counted into. */
gboolean dn_run_step_evaluate (DnRunStep *s, DnNetwork *net, const DnDataset *data,
                               const DnNormalize *norm, double *accuracy, double *mean_loss,
                               DnConfusion *tally, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DnRunStep, dn_run_step_free)

G_END_DECLS
