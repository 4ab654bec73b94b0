/* dn-trainer.h: one training run on a worker thread, seen from the main loop.
 *
 * dn_trainer_start() runs dn_experiment_run() (or dn_experiment_resume())
 * in a GTask thread. Its observer writes the run folder exactly as the CLI
 * does (dn_run_writer_event) and copies every event into the pending
 * state under a mutex; one idle source, at most one pending at a time and
 * at most one every 100 ms, turns the pending state into an immutable
 * DnRunSnapshot on the main thread and emits "progress". Widgets are only
 * ever touched from that signal. Stop raises the run's cancel flag: the
 * batch in progress finishes, latest.safetensors stays, and the run can be
 * resumed from its folder.
 */
#pragma once

#include "dn-run-snapshot.h"

#include <gio/gio.h>

G_BEGIN_DECLS

#define DN_TYPE_TRAINER (dn_trainer_get_type ())
G_DECLARE_FINAL_TYPE (DnTrainer, dn_trainer, DN, TRAINER, GObject)

/* The settings a run takes from the window (the rest is the experiment). */
typedef struct {
    char *out_dir;    /* the folder run folders go in */
    int threads;      /* 0: all cores */
    char *device;     /* NULL: the experiment's */
    char *resume_dir; /* continue this run folder instead of starting */
    gboolean overwrite; /* replace the earlier run in OUT/NAME (not a new OUT/NAME-N) */
    char *init_model;   /* a new run starts from this model's weights (NULL: random ones) */
} DnTrainerOptions;

void dn_trainer_options_clear (DnTrainerOptions *opts);

DnTrainer *dn_trainer_new (void);
/* Takes exp (may be NULL with opts->resume_dir). FALSE when a run is going on. */
gboolean dn_trainer_start (DnTrainer *self, DnExperiment *exp, const DnTrainerOptions *opts,
                           GError **error);
void dn_trainer_stop (DnTrainer *self);
gboolean dn_trainer_is_running (DnTrainer *self);
/* The last snapshot delivered (never NULL: an idle one before the first run). */
DnRunSnapshot *dn_trainer_get_snapshot (DnTrainer *self);
/* Snapshots delivered so far (for the latency benchmark). */
guint dn_trainer_get_n_deliveries (DnTrainer *self);
/* Minimum time between two snapshots, in microseconds (default 100 ms). */
void dn_trainer_set_interval (DnTrainer *self, gint64 usec);

G_END_DECLS
