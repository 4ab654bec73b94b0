/* dn-run-snapshot.h: an immutable picture of a run at one moment.
 *
 * The training thread copies what its events say into a snapshot; the main
 * thread receives it through one coalesced idle callback (dn-trainer.c)
 * and every widget draws from it. Nothing in a snapshot changes after it
 * is made, so it can be read without locks and kept as long as wanted
 * (reference counted). The tracker in it is a private copy made with
 * dn_tracker_state_to_string / _from_string, shared between snapshots
 * through its own reference count.
 */
#pragma once

#include "dn-experiment.h"

G_BEGIN_DECLS

typedef enum {
    DN_RUN_IDLE,
    DN_RUN_PREPARING, /* loading data, building the network */
    DN_RUN_TRAINING,
    DN_RUN_STOPPING, /* Stop was pressed; the batch in progress finishes */
    DN_RUN_FINISHED, /* ended by itself */
    DN_RUN_STOPPED,  /* ended by Stop; can be resumed */
    DN_RUN_FAILED,
} DnRunState;

typedef struct _DnSharedTracker DnSharedTracker;

typedef struct {
    DnRunState state;
    int epoch; /* epochs completed */
    int epochs;
    int batch;
    int n_batches;
    double samples_per_s;
    double eta_epoch; /* seconds left in this epoch */
    double eta_run;   /* seconds left at most (epoch limit) */
    double last_epoch_seconds;
    double loss, train_acc, val_acc, test_acc, lr;
    double best_val, test_at_best;
    int best_epoch;
    int64_t params;
    int64_t train_samples, val_samples, test_samples;
    int dendrites;
    gboolean dendritic; /* the run grows dendrites (the tracker decides) */
    char *status;       /* the tracker's status line, or one for a run without dendrites */
    char *run_dir;
    char *device;
    char *model_path; /* DONE: the best model */
    char *summary;    /* DONE: the engine's summary */
    char *error;      /* FAILED */
    GPtrArray *log;   /* char*: every decision and message, oldest first */
    DnSharedTracker *shared;
    guint64 serial; /* increases with every snapshot of a run */
    /* Continual-learning runs (tasks > 0; no tracker). task: the 0-based task being
     * trained (tasks_done when between tasks); epoch / epochs count within the task.
     * accuracy: tasks x tasks doubles, percent, row t after task t, NaN where not
     * measured (immutable, shared between snapshots; NULL before the run starts).
     * activity: at the end, (tasks, activity_units) floats, the fraction of each
     * task's test images on which each unit of activity_layer is non-zero. */
    int task, tasks, tasks_done;
    GBytes *accuracy;
    double average_accuracy; /* the mean over all tasks after the last one; NaN before */
    GBytes *activity;
    int activity_units;
    char *activity_layer;
} DnRunSnapshot;

DnRunSnapshot *dn_run_snapshot_new (void);
DnRunSnapshot *dn_run_snapshot_ref (DnRunSnapshot *s);
void dn_run_snapshot_unref (DnRunSnapshot *s);
/* The history, for charts and tables; NULL before the first epoch of a run. */
const DnTracker *dn_run_snapshot_get_tracker (const DnRunSnapshot *s);
/* Continual runs: the accuracy matrix (tasks x tasks) or NULL, and the hidden
 * activity (tasks x activity_units) or NULL. */
const double *dn_run_snapshot_get_accuracy (const DnRunSnapshot *s);
const float *dn_run_snapshot_get_activity (const DnRunSnapshot *s);
/* Continual runs: how many rows of the accuracy matrix have been measured. */
int dn_run_snapshot_tasks_evaluated (const DnRunSnapshot *s);

/* Takes tracker. */
DnSharedTracker *dn_shared_tracker_new (DnTracker *tracker);
DnSharedTracker *dn_shared_tracker_ref (DnSharedTracker *st);
void dn_shared_tracker_unref (DnSharedTracker *st);
const DnTracker *dn_shared_tracker_get (DnSharedTracker *st);

/* A snapshot of a finished run read back from its folder (latest.safetensors:
 * tracker, counters; for a continual run the accuracy matrix, its tasks and
 * hidden_activity.csv); NULL + error when the folder has no readable checkpoint. */
DnRunSnapshot *dn_run_snapshot_new_from_folder (const char *run_dir, GError **error);
/* The messages of run_dir/run.log as the live log words them ("Epoch 4 · …";
 * tasks > 0: a continual run of that many tasks); empty when there is none. */
GPtrArray *dn_run_snapshot_read_log (const char *run_dir, int tasks);
/* The best epoch as the charts and the decisions count it (rolled-back epochs left
 * out, from 1); best_epoch counts every epoch trained. */
int dn_run_snapshot_best_epoch (const DnRunSnapshot *s);
/* One line for a finished run with a tracker: best score, sets kept, parameters
 * before → after, remaining error removed, training time; NULL otherwise. g_free. */
char *dn_run_snapshot_summary (const DnRunSnapshot *s);

GType dn_run_snapshot_get_type (void);
#define DN_TYPE_RUN_SNAPSHOT (dn_run_snapshot_get_type ())

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DnRunSnapshot, dn_run_snapshot_unref)

G_END_DECLS
