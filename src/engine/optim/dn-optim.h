/* dn-optim.h: optimizers and learning-rate schedulers, PyTorch's rules and defaults.
 *
 * An optimizer updates the network's whole parameter arena at once: all
 * trainable parameters are one contiguous float array, so SGD, Adam(W),
 * Adadelta and RMSprop are single backend calls. Its state (momentum, moments)
 * is one arena too, which the run folder saves for resume. After a restructure
 * (new dendrites) the engine makes a new optimizer, as PyTorch users must.
 *
 * A scheduler is pure arithmetic on the learning rate: step() once per epoch
 * (ReduceLROnPlateau reads the validation metric); lr() is the rate to use for
 * the next epoch.
 */
#pragma once

#include "dn-backend.h"

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef enum {
    DN_OPTIM_SGD,
    DN_OPTIM_ADAM,
    DN_OPTIM_ADAMW,
    DN_OPTIM_ADADELTA,
    DN_OPTIM_RMSPROP,
} DnOptimKind;

typedef struct {
    DnOptimKind kind;
    double lr;
    double weight_decay;
    /* SGD, RMSprop */
    double momentum;
    double dampening;
    gboolean nesterov;
    /* Adam, AdamW */
    double beta1, beta2;
    double eps;
    gboolean amsgrad;
    /* Adadelta: rho; RMSprop: alpha */
    double rho;
    double alpha;
    gboolean centered;
} DnOptimConfig;

/* PyTorch's defaults for `kind` (lr: SGD has none in PyTorch; we use 0.01). */
void dn_optim_config_defaults (DnOptimConfig *cfg, DnOptimKind kind);
/* {"type": "adadelta", "lr": 1.0, ...}: missing fields take the defaults; unknown
 * fields and out-of-range values are errors naming the field. */
gboolean dn_optim_config_from_json (JsonObject *obj, DnOptimConfig *cfg, GError **error);
/* Writes one complete object ({"type": ..., and the fields of that type}) at the
 * builder's current position; the same holds for the scheduler's *_to_json. */
void dn_optim_config_to_json (const DnOptimConfig *cfg, JsonBuilder *b);
const char *dn_optim_kind_name (DnOptimKind kind);

typedef struct _DnOptimizer DnOptimizer;

/* An optimizer for `n` parameter floats on `be`. NULL + DN_ERROR_NOMEM on failure. */
DnOptimizer *dn_optimizer_new (const DnOptimConfig *cfg, DnBackend *be, size_t n, GError **error);
void dn_optimizer_free (DnOptimizer *opt);
/* One update of params from grads with learning rate lr (the scheduler's). */
void dn_optimizer_step (DnOptimizer *opt, float *params, const float *grads, double lr);
/* The same update restricted to (offset, length) pairs of the arena (see
 * dn_network_live_spans); it counts as one step. Exact, i.e. equal to a full step,
 * whenever every skipped element has zero gradient and zero state and
 * dn_optimizer_spans_exact() holds (no weight decay, no SGD dampening). */
void dn_optimizer_step_spans (DnOptimizer *opt, float *params, const float *grads, double lr,
                              const size_t *spans, int n_spans);
gboolean dn_optimizer_spans_exact (const DnOptimizer *opt);
/* Idle elements. With Adam or AdamW without weight decay, a step with zero
 * gradient multiplies an element's first moment m by beta1 and moves the element
 * by at most step_size * |m| / eps. Once m has decayed to zero, or to the few
 * smallest subnormals that beta1 no longer shrinks (they round back to
 * themselves), and that move is far below half a unit in the last place of the
 * element, further such steps change neither m nor the element: only the second
 * moment decays (v *= beta2). dn_optimizer_idle_exact() says whether this
 * optimizer on this backend allows such elements to be left out (Adam or AdamW
 * without weight decay, memory the host reads). dn_optimizer_row_idle() tells
 * whether the n elements at `off` are idle now, for a constant learning rate lr;
 * dn_optimizer_decay_idle() applies `steps` skipped decays of v, with the same
 * roundings the steps would have made. */
gboolean dn_optimizer_idle_exact (const DnOptimizer *opt);
gboolean dn_optimizer_row_idle (DnOptimizer *opt, const float *params, size_t off, size_t n,
                                double lr);
void dn_optimizer_decay_idle (DnOptimizer *opt, size_t off, size_t n, int64_t steps);
int64_t dn_optimizer_steps (const DnOptimizer *opt);
/* State for checkpoints: the number of state buffers (each of n floats), their
 * names ("exp_avg", "exp_avg_sq", "momentum_buffer", ...) and data. */
int dn_optimizer_n_buffers (const DnOptimizer *opt);
float *dn_optimizer_buffer (DnOptimizer *opt, int i, const char **name);
void dn_optimizer_set_steps (DnOptimizer *opt, int64_t steps);
/* Fills state buffer i from n host floats (n must equal the optimizer's size). */
gboolean dn_optimizer_load_buffer (DnOptimizer *opt, int i, const float *host, size_t n,
                                   GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DnOptimizer, dn_optimizer_free)

typedef enum {
    DN_SCHED_NONE,
    DN_SCHED_STEP,
    DN_SCHED_MULTISTEP,
    DN_SCHED_EXPONENTIAL,
    DN_SCHED_COSINE,
    DN_SCHED_PLATEAU,
} DnSchedKind;

#define DN_SCHED_MAX_MILESTONES 32

typedef struct {
    DnSchedKind kind;
    int step_size;                           /* StepLR */
    double gamma;                            /* StepLR, MultiStepLR, ExponentialLR */
    int milestones[DN_SCHED_MAX_MILESTONES]; /* MultiStepLR, increasing */
    int n_milestones;
    int t_max; /* CosineAnnealingLR */
    double eta_min;
    gboolean mode_max; /* ReduceLROnPlateau: "max" */
    double factor;
    int patience;
    double threshold;
    gboolean threshold_abs; /* threshold_mode "abs" (default "rel") */
    int cooldown;
    double min_lr;
    double eps;
} DnSchedConfig;

void dn_sched_config_defaults (DnSchedConfig *cfg, DnSchedKind kind);
/* {"type": "step", "step_size": 1, "gamma": 0.7}; {"type": "none"} or a missing
 * object gives a constant rate. */
gboolean dn_sched_config_from_json (JsonObject *obj, DnSchedConfig *cfg, GError **error);
void dn_sched_config_to_json (const DnSchedConfig *cfg, JsonBuilder *b);

typedef struct _DnScheduler DnScheduler;

DnScheduler *dn_scheduler_new (const DnSchedConfig *cfg, double base_lr);
void dn_scheduler_free (DnScheduler *s);
/* An independent scheduler in the same state. */
DnScheduler *dn_scheduler_copy (const DnScheduler *s);
/* The learning rate for the current epoch. */
double dn_scheduler_lr (const DnScheduler *s);
/* End of an epoch; metric is the validation score (only Plateau reads it). */
void dn_scheduler_step (DnScheduler *s, double metric);
/* State for checkpoints, as a JSON object, and back. */
void dn_scheduler_state_to_json (const DnScheduler *s, JsonBuilder *b);
gboolean dn_scheduler_state_from_json (DnScheduler *s, JsonObject *obj, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DnScheduler, dn_scheduler_free)

G_END_DECLS
