/* dn-continual-private.h: what the files of the continual schedule share; used
 * inside run/ only.
 *
 * dn-continual.c: the task schedule (prototypes, contexts, training and evaluating
 *   task by task) and evaluating a saved model.
 * dn-continual-si.c: the update after each batch step: Synaptic Intelligence and
 *   the optimizer step that leaves idle segment rows out.
 * dn-continual-state.c: the model metadata, latest.safetensors (checkpoint and
 *   resume) and the profile.
 */
#pragma once

#include "dn-continual.h"
#include "dn-run-private.h"

G_BEGIN_DECLS

typedef struct {
    DnRunBase b;
    const DnContinualConfig *cfg;
    guint64 reuse_serial; /* last DnCtx.segment_reuse given out */
    int T, npix, bsz, ebs, cols, ctx_dim;
    int *perms;         /* T * npix */
    float *protos;      /* T * npix, host */
    float *protos_dev;  /* T * npix on the device */
    float *onehot_dev;  /* T * T on the device (task-id contexts) */
    float *proto_norms; /* T, host */
    /* batch buffers besides the step's: the unpermuted images (host), the distances to
     * the prototypes (device and host) and the nearest prototype of each image */
    float *xb, *dist_dev, *dist;
    int32_t *ctx_idx, *ctx_idx_dev;
    int *idx;
    double *matrix; /* T * T percents, NaN where not measured */
    /* Synaptic Intelligence over the covered spans of the parameter arena */
    GArray *si_spans; /* (offset, length) pairs */
    size_t si_n;
    float *si_omega, *si_big_omega, *si_star, *si_prev;
    float *si_theta, *si_grad; /* host scratch of si_n floats */
    gboolean cancelled;
    double seconds;
    /* profile (opts->profile): seconds outside the layers, and per task */
    double t_data, t_opt, t_eval;
    GArray *task_seconds;
    /* latest.safetensors: when the last write ended (monotonic µs; 0: none yet) and
     * how long it took */
    gint64 last_save_end;
    double last_save_secs;
    gboolean save_skip_logged;
    int saved_next_task;
    /* Idle segment rows (dn_optimizer_idle_exact): per tracked parameter, the step
     * count when each row went idle; NULL when not used */
    GArray *idle; /* IdleParam */
    int idle_check;
    gint64 idle_row_steps, row_steps; /* for the profile: row updates skipped, and all */
} DnContinualRun;

/* ---- dn-continual-si.c ---- */

/* Synaptic Intelligence's state over the covered parameters, anchored at the
 * network's weights now. */
gboolean _dn_continual_si_setup (DnContinualRun *c, GError **error);
/* At a task's end: Omega += relu(omega) / (delta^2 + xi); theta* = theta; omega = 0. */
void _dn_continual_si_end_task (DnContinualRun *c);
/* The rows that idle-row skipping tracks (none when DN_IDLE_ROWS=0). */
gboolean _dn_continual_idle_setup (DnContinualRun *c, GError **error);
void _dn_continual_free_si_idle (DnContinualRun *c);
/* A new optimizer, every segment row forgotten as live. */
gboolean _dn_continual_new_optimizer (DnContinualRun *c, GError **error);
/* The update after a batch step at learning rate lr: with si_penalty Synaptic
 * Intelligence's penalty (its gradient added, the loss it adds returned), the
 * optimizer step over the live spans, and with Synaptic Intelligence on its
 * importance accumulated. */
double _dn_continual_update (DnContinualRun *c, gboolean si_penalty, double lr);
/* Before the optimizer state is saved: the decays the idle rows missed applied. */
void _dn_continual_idle_settle (DnContinualRun *c);

/* ---- dn-continual-state.c ---- */

/* The model metadata: the run base's, and "dendrite_continual" (tasks, permutations,
 * context, prototypes) that dn_continual_evaluate reads back. */
GHashTable *_dn_continual_metadata (DnContinualRun *c);
/* The "dendrite_continual" metadata of a saved model, every member type- and
 * range-checked against the network and the test images (npix pixels). *protos
 * points into rd, which the caller clears. */
gboolean _dn_continual_read_metadata (DnStateReader *rd, const char *what, const char *text,
                                      DnNetwork *net, int npix, DnContinualConfig *cfg,
                                      JsonArray **protos, GError **error);

/* The run state of latest.safetensors ("dendrite_continual_run"). */
typedef struct {
    int next_task;
    guint64 seed;
    guint64 rng[4];
    double elapsed;
    double *matrix; /* T * T, NaN where not measured */
    GArray *task_seconds;
} DnContinualState;

void _dn_continual_state_clear (DnContinualState *s);
/* Checked member by member against the experiment's T tasks before anything else is
 * set up. */
gboolean _dn_continual_state_read (DnSafetensors *st, const char *path, int T,
                                   DnContinualState *out, GError **error);
/* Restores weights, optimizer, Synaptic Intelligence, generator, matrix and the task
 * to go on from. */
gboolean _dn_continual_load_latest (DnContinualRun *c, const DnContinualState *state,
                                    int *next_task, double *elapsed, GError **error);
/* latest.safetensors (with latest_si.safetensors) before task next_task. */
gboolean _dn_continual_save_latest (DnContinualRun *c, int next_task, double elapsed,
                                    GError **error);
/* The same, after every task while writing is cheap, else as often as keeps it under
 * a tenth of the run; start: the run's start (monotonic µs). */
gboolean _dn_continual_maybe_save_latest (DnContinualRun *c, int next_task, gint64 start,
                                          GError **error);
/* Seconds per part of the run, as JSON (DnRunResult.profile_json). */
char *_dn_continual_profile_json (DnContinualRun *c);

G_END_DECLS
