/* dn-backend.h: the operations every device provides.
 *
 * Layers, losses and optimizers never loop over tensor data themselves;
 * they call these ops, so a device (CPU with OpenBLAS, CUDA with cuBLAS and
 * our kernels) is a table of function pointers with identical signatures.
 *
 * The device contract: every pointer that reaches a layer or an op is memory of the
 * backend it is passed to, from its alloc; host data gets there through upload (a
 * batch, its labels, a context table) and comes back through download. The only host
 * pointers an op takes are named so: upload's host_src, download's host_dst, the
 * losses' `loss` and segment_grad's `rows_touched` (the host's bookkeeping of the
 * rows an optimizer steps), besides the descriptors DnConvGeom and DnConvFusion
 * themselves (a DnConvFusion's argmax is backend memory). The checking backend
 * (dn-backend-check.h) holds the engine to it on the CPU.
 *
 * Conventions a reader cannot guess:
 * - Matrices are row-major. gemm computes C = alpha * op(A) op(B) + beta * C
 *   with op(A) (m x k), op(B) (k x n), C (m x n), like cblas_sgemm(RowMajor).
 * - Every op named *_backward ADDS into the gradients it writes (dx, dw, db),
 *   so a tensor read by several nodes receives the sum of their gradients.
 *   Callers zero gradients once per step. Forward ops overwrite their output.
 * - Sizes are in elements (floats), not bytes, unless the name says bytes.
 */
#pragma once

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

G_BEGIN_DECLS

typedef enum {
    DN_ACT_IDENTITY,
    DN_ACT_RELU,
    DN_ACT_LEAKY_RELU, /* param: negative slope */
    DN_ACT_SIGMOID,
    DN_ACT_TANH,
    DN_ACT_GELU, /* exact (erf) form, PyTorch's default */
} DnAct;

/* Geometry of a 2-D convolution or pooling window, one sample.
 * Conv1d is the case h = 1, kh = 1, sh = 1, ph = 0, dh = 1. */
typedef struct {
    int c_in, h, w;    /* input channels and spatial size */
    int c_out, oh, ow; /* output channels and spatial size */
    int kh, kw;        /* kernel */
    int sh, sw;        /* stride */
    int ph, pw;        /* zero padding (pooling: -inf padding) */
    int dh, dw;        /* dilation */
    int groups;
} DnConvGeom;

/* The layers after a convolution that it computes in the same pass (DnLayerClass.fuse),
 * each sample's output still in cache: a ReLU, then a max pooling with geometry `pool`
 * (c_in = c_out of the convolution), either or both. y is then the last one's output,
 * e.g. (batch, c_out, pool->oh, pool->ow), and forward records the pooling's argmax
 * (batch, c_out, pool->oh, pool->ow) as maxpool2d_forward does. backward takes that y
 * and argmax with dy = d(loss)/dy, and gives the same gradients as the layers' own
 * backward ops in a row would. */
typedef struct {
    gboolean relu;
    const DnConvGeom *pool; /* NULL: no pooling */
    int32_t *argmax;
} DnConvFusion;

/* How an active dendrite layer mixes its winning segment response g into the
 * unit's feed-forward drive t (Numenta's active dendrites):
 * ABS_MAX: the segment with the largest |response| wins (sign kept), y = t * sigmoid(g);
 * MAX: the largest response wins, y = t * sigmoid(g); ADDITIVE: the largest wins, y = t + g. */
typedef enum {
    DN_GATE_ABS_MAX,
    DN_GATE_MAX,
    DN_GATE_ADDITIVE,
} DnGateMode;

/* Row flags of row-tracked parameters (see DnParam in dn-layer.h). */
#define DN_ROW_DIRTY 1u /* gradient written since the last zero_grad */
#define DN_ROW_LIVE 2u  /* gradient written since the optimizer was made */
#define DN_ROW_TOUCHED (DN_ROW_DIRTY | DN_ROW_LIVE)
#define DN_ROW_STALE 4u /* value changed by an optimizer step since a layer last read it */
/* live, but left out of optimizer steps until it gets gradient again: its optimizer
 * state cannot move it (see dn_optimizer_idle_exact) */
#define DN_ROW_IDLE 8u

typedef struct DnBackend DnBackend;

struct DnBackend {
    const char *name; /* "cpu", "cuda" */
    /* TRUE when alloc hands out host memory that the host may read and write directly
     * (the CPU): a caller may then fill a buffer of the backend in place instead of
     * uploading a host copy into it. Pointers passed to the ops below are still the
     * backend's own. */
    gboolean host_memory;

    /* Memory. alloc returns zeroed memory or NULL. */
    void *(*alloc) (DnBackend *be, size_t bytes);
    void (*free) (DnBackend *be, void *p);
    void (*upload) (DnBackend *be, void *dst, const void *host_src, size_t bytes);
    void (*download) (DnBackend *be, void *host_dst, const void *src, size_t bytes);
    void (*zero) (DnBackend *be, float *x, size_t n);
    void (*copy) (DnBackend *be, float *dst, const float *src, size_t n);
    /* Blocks until queued work is done (no-op on the CPU). */
    void (*synchronize) (DnBackend *be);

    /* BLAS. */
    void (*gemm) (DnBackend *be, gboolean trans_a, gboolean trans_b, int m, int n, int k,
                  float alpha, const float *a, int lda, const float *b, int ldb, float beta,
                  float *c, int ldc);
    /* y += alpha * x */
    void (*axpy) (DnBackend *be, size_t n, float alpha, const float *x, float *y);
    /* x *= alpha */
    void (*scale) (DnBackend *be, size_t n, float alpha, float *x);
    /* y = x0 + x1 */
    void (*add) (DnBackend *be, size_t n, const float *x0, const float *x1, float *y);
    /* y = x * m (elementwise) */
    void (*mul) (DnBackend *be, size_t n, const float *x, const float *m, float *y);
    /* Sum of all elements, returned to the host. */
    double (*sum) (DnBackend *be, const float *x, size_t n);

    /* Convolution helpers for a batch of `batch` samples.
     * im2col: x (batch, c_in, h, w) -> col (c_in*kh*kw, batch*oh*ow): row r = (c, i, j),
     *         column = b*oh*ow + p. One GEMM per group then convolves the whole batch.
     * col2im: the adjoint; ADDS col into dx (batch, c_in, h, w). */
    void (*im2col) (DnBackend *be, const DnConvGeom *g, int batch, const float *x, float *col);
    void (*col2im) (DnBackend *be, const DnConvGeom *g, int batch, const float *col, float *dx);
    /* (rows, batch, inner) <-> (batch, rows, inner): reorders the GEMM output
     * (c_out, batch*oh*ow) into NCHW and back. */
    void (*transpose_outer) (DnBackend *be, int rows, int batch, int inner, const float *src,
                             float *dst);

    /* Whole convolutions over a batch; the backend picks the method (the CPU works
     * sample by sample on its cores, im2col + GEMM, writing NCHW directly).
     * x (batch, c_in, h, w), w (c_out, c_in/groups, kh, kw), bias (c_out) or NULL,
     * y (batch, c_out, oh, ow). workspace holds conv2d_workspace() floats.
     * backward ADDS into dw, db and dx, each of which may be NULL (dw NULL: no weight
     * or bias gradient at all, for a frozen layer).
     * With a DnConvFusion (else NULL) y and dy are those of the fused output: see there. */
    size_t (*conv2d_workspace) (DnBackend *be, const DnConvGeom *g, int batch);
    void (*conv2d_forward) (DnBackend *be, const DnConvGeom *g, const DnConvFusion *f, int batch,
                            const float *x, const float *w, const float *bias, float *y,
                            float *workspace);
    void (*conv2d_backward) (DnBackend *be, const DnConvGeom *g, const DnConvFusion *f, int batch,
                             const float *x, const float *w, const float *y, const float *dy,
                             float *dx, float *dw, float *db, float *workspace);

    /* The dendrite combination of a neuron module with k >= 1 dendrites (the maths is in
     * dn-layer-dendritic.c), in one pass over (n, c, spatial) tensors.
     * r holds the k + 1 module outputs in slots, slot 0 the neuron module and slot i + 1
     * dendrite i: element (slot, sample b, channel, position) is at
     * r[slot * ld_slot + b * ld_sample + channel * spatial + position].
     * w is T (k, c) followed by the cascade weights D2D[1] (1, c) ... D2D[k-1] (k-1, c);
     * dw has the same layout.
     * forward: s (k, n, c, spatial) = the dendrites' outputs after act; out (n, c, spatial)
     *   = slot 0 + sum_i T[i] * s_i (OVERWRITTEN).
     * backward: from dout (n, c, spatial) and s: dr (r's layout) is OVERWRITTEN with the
     *   gradients of the k + 1 module outputs (slot 0 gets dout); dw += the weights'.
     * With a DnConvFusion f (else NULL; spatial is then the (h, w) of f->pool, if any),
     *   the layers after the module are computed too, as a convolution does them: out is
     *   the last one's output (forward records the pooling's argmax), and backward takes
     *   that out with dout = d(loss)/d(out); slot 0 of dr is then the gradient at the
     *   module's output (the neuron's error signal). */
    void (*dendrite_forward) (DnBackend *be, DnAct act, int k, int n, int c, int spatial,
                              const float *w, const float *r, size_t ld_slot, size_t ld_sample,
                              const DnConvFusion *f, float *s, float *out);
    void (*dendrite_backward) (DnBackend *be, DnAct act, int k, int n, int c, int spatial,
                               const float *w, const float *s, const DnConvFusion *f,
                               const float *out, const float *dout, float *dr, size_t ld_slot,
                               size_t ld_sample, float *dw);

    /* Bias over channels: y (n, c, spatial) += b[c]; db[c] += sum of dy over n and spatial. */
    void (*bias_add) (DnBackend *be, int n, int c, int spatial, const float *b, float *y);
    void (*bias_backward) (DnBackend *be, int n, int c, int spatial, const float *dy, float *db);

    /* Elementwise activations. backward: dx += f'(x) * dy (x is the forward input,
     * y its output; each activation uses whichever is cheaper). */
    void (*act_forward) (DnBackend *be, DnAct act, float param, size_t n, const float *x, float *y);
    void (*act_backward) (DnBackend *be, DnAct act, float param, size_t n, const float *x,
                          const float *y, const float *dy, float *dx);

    /* Pooling over (batch, c, h, w); g->c_out == g->c_in. argmax holds, per output,
     * the flat index h*w of its input within the channel plane. */
    void (*maxpool2d_forward) (DnBackend *be, const DnConvGeom *g, int batch, const float *x,
                               float *y, int32_t *argmax);
    void (*maxpool2d_backward) (DnBackend *be, const DnConvGeom *g, int batch, const float *dy,
                                const int32_t *argmax, float *dx);
    /* count_include_pad as in PyTorch's default (TRUE). */
    void (*avgpool2d_forward) (DnBackend *be, const DnConvGeom *g, int batch,
                               gboolean count_include_pad, const float *x, float *y);
    void (*avgpool2d_backward) (DnBackend *be, const DnConvGeom *g, int batch,
                                gboolean count_include_pad, const float *dy, float *dx);

    /* Batch norm over x (n, c, spatial). Training: batch statistics (biased variance
     * for normalising, unbiased for the running update, as PyTorch), running stats
     * updated with `momentum`; saves mean and 1/sqrt(var+eps) per channel.
     * gamma/beta may be NULL (affine = false). */
    void (*batchnorm_forward_train) (DnBackend *be, int n, int c, int spatial, const float *x,
                                     const float *gamma, const float *beta, float eps,
                                     float momentum, float *running_mean, float *running_var,
                                     float *y, float *save_mean, float *save_invstd);
    void (*batchnorm_forward_eval) (DnBackend *be, int n, int c, int spatial, const float *x,
                                    const float *gamma, const float *beta, float eps,
                                    const float *running_mean, const float *running_var, float *y);
    /* dx may be NULL; dgamma/dbeta may be NULL when not affine. */
    void (*batchnorm_backward) (DnBackend *be, int n, int c, int spatial, const float *x,
                                const float *dy, const float *gamma, const float *save_mean,
                                const float *save_invstd, float *dx, float *dgamma, float *dbeta);
    /* Layer norm over the last `cols` elements of each of `rows` rows. */
    void (*layernorm_forward) (DnBackend *be, int rows, int cols, const float *x,
                               const float *gamma, const float *beta, float eps, float *y,
                               float *save_mean, float *save_invstd);
    void (*layernorm_backward) (DnBackend *be, int rows, int cols, const float *x, const float *dy,
                                const float *gamma, const float *save_mean,
                                const float *save_invstd, float *dx, float *dgamma, float *dbeta);

    /* Softmax / log-softmax over each row of (rows, cols), and backward from y. */
    void (*softmax_forward) (DnBackend *be, gboolean log, int rows, int cols, const float *x,
                             float *y);
    void (*softmax_backward) (DnBackend *be, gboolean log, int rows, int cols, const float *y,
                              const float *dy, float *dx);

    /* Dropout with a counter-based mask: element i is kept iff
     * dn_rng_hash_uniform (seed, i) >= p; kept values are scaled by 1/(1-p).
     * The mask is not stored: backward recomputes it from the same seed. */
    void (*dropout_forward) (DnBackend *be, size_t n, float p, uint64_t seed, const float *x,
                             float *y);
    void (*dropout_backward) (DnBackend *be, size_t n, float p, uint64_t seed, const float *dy,
                              float *dx);

    /* Active dendrites. Contexts are a table of n_ctx vectors; a sample's context is
     * ctx_index[b] (NULL: context 0 for every sample).
     * segment_select: resp (n_ctx, units, segments) -> the winning segment win and the
     *   gate g (n_ctx, units): sigmoid of the winner's response, or for ADDITIVE the
     *   response itself; the first index wins a tie.
     * gate_forward: y (batch, units) from the drive t and the winner of the sample's context.
     * gate_backward: dt (OVERWRITTEN) = dL/dt; dg (n_ctx, units) += dL/d(winning response)
     *   summed over the samples of each context.
     * segment_grad: du[i, win[p, i], :] += dg[p, i] * contexts[p, :] for every p and unit i
     *   (du is (units, segments, dim)); rows_touched[i * segments + s] (host memory, may be
     *   NULL) gets DN_ROW_TOUCHED ORed in for every row written. */
    void (*segment_select) (DnBackend *be, DnGateMode mode, int n_ctx, int units, int segments,
                            const float *resp, int32_t *win, float *g);
    void (*gate_forward) (DnBackend *be, DnGateMode mode, int batch, int units, const float *t,
                          const float *g, const int32_t *ctx_index, float *y);
    void (*gate_backward) (DnBackend *be, DnGateMode mode, int batch, int units, const float *t,
                           const float *g, const int32_t *ctx_index, const float *dy, float *dt,
                           float *dg);
    void (*segment_grad) (DnBackend *be, int n_ctx, int units, int segments, int dim,
                          const int32_t *win, const float *dg, const float *contexts, float *du,
                          guint8 *rows_touched);
    /* segment_rows (may be NULL): resp[r] = u[r, :] · context for the n rows listed in
     * `rows`, or for rows 0..n-1 when rows is NULL (u is (rows, dim)). A row's result
     * does not depend on n, on which other rows are listed or on the thread count, so
     * a layer may recompute only the rows that changed. */
    void (*segment_rows) (DnBackend *be, int n, const int32_t *rows, int dim, const float *u,
                          const float *context, float *resp);
    /* k-winner-take-all over each row of (rows, cols): entries >= the row's k-th largest
     * value are kept (ties at the threshold may keep more than k), the rest become 0;
     * mask records the kept entries. backward: dx += dy where mask is set. */
    void (*kwta_forward) (DnBackend *be, int rows, int cols, int k, const float *x, float *y,
                          guint8 *mask);
    void (*kwta_backward) (DnBackend *be, int rows, int cols, const guint8 *mask, const float *dy,
                           float *dx);

    /* Products with a mostly-zero operand (activity after k-WTA): the work scales
     * with the non-zeros, and the results equal the dense products.
     * count_nonzero: the number of non-zero elements of x, returned to the host.
     * sparse_rows_gemm: y (rows, n) += a (rows, k) · b (k, n), skipping zeros of a.
     * sparse_outer: c (k, n) += a^T · b with a (rows, k) and b (rows, n), skipping zeros
     * of a and of b.
     * sparse_gemm_nt: y (rows, n) = a (rows, k) · b^T with b (n, k), skipping zeros of a
     * (a layer's forward pass, b its weight); each y is summed over k in order. */
    size_t (*count_nonzero) (DnBackend *be, const float *x, size_t n);
    void (*sparse_rows_gemm) (DnBackend *be, int rows, int k, int n, const float *a, const float *b,
                              float *y);
    void (*sparse_outer) (DnBackend *be, int rows, int k, int n, const float *a, const float *b,
                          float *c);
    void (*sparse_gemm_nt) (DnBackend *be, int rows, int k, int n, const float *a, const float *b,
                            float *y);

    /* Losses over (rows, cols) logits; mean over rows. Each writes the loss to *loss
     * (host) and, when dlogits is not NULL, OVERWRITES dlogits with d(mean loss)/dlogits
     * multiplied by `scale`. labels are class indices; targets are (rows, cols). */
    void (*cross_entropy) (DnBackend *be, int rows, int cols, const float *logits,
                           const int32_t *labels, float label_smoothing, float scale, double *loss,
                           float *dlogits);
    void (*nll) (DnBackend *be, int rows, int cols, const float *logp, const int32_t *labels,
                 float scale, double *loss, float *dlogp);
    void (*mse) (DnBackend *be, int rows, int cols, const float *pred, const float *target,
                 float scale, double *loss, float *dpred);
    void (*bce_logits) (DnBackend *be, int rows, int cols, const float *logits, const float *target,
                        float scale, double *loss, float *dlogits);
    /* targets (rows, cols) = one-hot rows, 1 at column labels[r] and 0 elsewhere (a label
     * outside [0, cols) gives a row of zeros): what mse and bce_logits compare class
     * labels against. */
    void (*one_hot) (DnBackend *be, int rows, int cols, const int32_t *labels, float *targets);
    /* Number of rows whose argmax equals the label. */
    int (*count_correct) (DnBackend *be, int rows, int cols, const float *logits,
                          const int32_t *labels);

    /* Optimizer updates over flat arrays of n parameters, PyTorch's rules.
     * `step` counts from 1. State buffers are zeroed by the caller at creation. */
    void (*sgd_update) (DnBackend *be, size_t n, float *w, const float *g, float *momentum_buf,
                        float lr, float momentum, float dampening, gboolean nesterov,
                        float weight_decay, gboolean first_step);
    /* decoupled = TRUE gives AdamW. */
    void (*adam_update) (DnBackend *be, size_t n, float *w, const float *g, float *m, float *v,
                         float *vmax, float lr, float beta1, float beta2, float eps,
                         float weight_decay, gboolean decoupled, gboolean amsgrad, int64_t step);
    void (*adadelta_update) (DnBackend *be, size_t n, float *w, const float *g, float *sq_avg,
                             float *acc_delta, float lr, float rho, float eps, float weight_decay);
    /* grad_avg used when centered; momentum_buf when momentum > 0. */
    void (*rmsprop_update) (DnBackend *be, size_t n, float *w, const float *g, float *sq_avg,
                            float *grad_avg, float *momentum_buf, float lr, float alpha, float eps,
                            float weight_decay, float momentum, gboolean centered);

    /* Free and total memory of the device in bytes, for messages about runs that do not
     * fit; NULL where memory is the host's (the CPU). */
    void (*memory_info) (DnBackend *be, size_t *free_bytes, size_t *total_bytes);

    void *priv; /* the backend's own state */
};

/* The CPU backend (OpenBLAS); a process-wide singleton, never freed. */
DnBackend *dn_backend_cpu (void);
/* Sets the threads used by BLAS and our loops; 0 means all cores. */
void dn_backend_cpu_set_threads (int n_threads);
int dn_backend_cpu_get_threads (void);

/* The CUDA backend on device 0, or NULL with an error saying why (not built, no device). */
DnBackend *dn_backend_cuda (GError **error);
/* The CUDA backend on device `index` (one device per process). */
DnBackend *dn_backend_cuda_device (int index, GError **error);
/* The first error the backend's ops met since the last call (ops return nothing; a device
 * backend records a failed launch or copy here), or NULL; clears it. NULL on the CPU. */
const char *dn_backend_take_error (DnBackend *be);

/* The checking backend over the CPU's (dn-backend-check.h); a process-wide singleton,
 * never freed. */
DnBackend *dn_backend_check (void);

/* "cpu" / "cuda" / "cuda:N" / "auto" / "check" -> backend. */
DnBackend *dn_backend_by_name (const char *name, GError **error);

G_END_DECLS
