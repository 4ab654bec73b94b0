/* dn-train.h: what every schedule of training shares with its caller.
 *
 * A run (dn-run.h: plain or dendritic; dn-continual.h: a sequence of tasks)
 * loads the data, builds the network, optimizer and scheduler from one seeded
 * RNG, trains and reports through an observer (a callback plus user data). It
 * never prints and never exits; it polls a cancel flag between batches. This
 * header holds the events, the observer, the options, the result and the
 * evaluation every schedule shares (dn-train.c).
 */
#pragma once

#include "dn-experiment.h"

G_BEGIN_DECLS

typedef enum {
    DN_EVENT_START,    /* data and network ready: params, samples, batches */
    DN_EVENT_DECISION, /* the tracker decided something worth saying: message */
    DN_EVENT_SNAPSHOT, /* the run folder should snapshot its CSVs and graph: suffix */
    DN_EVENT_BATCH,    /* progress inside an epoch (every few batches) */
    DN_EVENT_EPOCH,    /* an epoch finished, with its scores */
    DN_EVENT_LOG,      /* a message in plain words */
    DN_EVENT_DONE,     /* the run finished (also after cancel) */
    DN_EVENT_TASK,     /* continual runs: a task finished and was evaluated */
} DnEventKind;

typedef struct {
    DnEventKind kind;
    int epoch; /* 1-based */
    int epochs;
    int batch; /* 1-based, within the epoch */
    int n_batches;
    int64_t samples; /* training samples seen in this epoch */
    int64_t train_samples, val_samples, test_samples;
    double loss;      /* mean training loss so far in this epoch */
    double train_acc; /* percent */
    double val_acc;   /* percent; NaN when there is no validation split */
    double val_loss;
    double test_acc; /* percent; NaN when there is no test split */
    double test_loss;
    double lr;
    double seconds; /* of this epoch (EPOCH) or the whole run (DONE) */
    double samples_per_s;
    double eta_seconds; /* of this epoch (BATCH) or the run */
    double best_val;
    double test_at_best_val;
    int best_epoch;
    int64_t params;
    gboolean improved;
    gboolean cancelled;
    const char *message;    /* LOG; DONE: a summary */
    const char *model_path; /* DONE: the best model */
    const char *run_dir;
    const char *device;
    /* The run's history, valid during the call only: a dendritic run's tracker, or
     * the recorder of a run without dendrites (dn_tracker_is_recorder); NULL in
     * continual runs and in a plain run resumed from a checkpoint without one. */
    const DnTracker *tracker;
    /* dendritic runs (NULL / 0 otherwise) */
    int dendrites;
    int graph_epoch;               /* EPOCH: this epoch's place on the graphs' rolled-back axis
                                    * (1-based; the tracker's messages use it) */
    const char *status;            /* "neuron training, 2 dendrite sets, ..." */
    int64_t reference_params;      /* the reference library's count (spec 9) */
    const DnTrackerAction *action; /* DECISION */
    const char *suffix;            /* SNAPSHOT: "_beforeSwitch_2" */
    gboolean before_restore;       /* SNAPSHOT: draw the history before the restore */
    gboolean timestamped;          /* SNAPSHOT: numbered by `epoch` and `snapshot` */
    int snapshot;                  /* SNAPSHOT: its number within this epoch's decision, from 1 */
    const char *save_name;         /* the run's name, for file names (with a tracker) */
    /* Continual runs (EPOCH, TASK, DONE): 0-based task, the number of tasks, and the
     * accuracy matrix so far (tasks x tasks percents, row t after task t, NaN where
     * not measured); TASK: `epoch` unused, `test_acc` the mean over seen tasks. */
    int task, tasks;
    const double *accuracy_matrix;
    double average_accuracy; /* DONE: mean over all tasks after the last one */
    /* DONE: fraction of each task's test images on which each unit of the activity
     * layer is non-zero, (tasks, activity_units) */
    const float *activity;
    int activity_units;
    const char *activity_layer;
} DnEvent;

typedef struct {
    void (*event) (const DnEvent *ev, gpointer user_data);
    gpointer user_data;
    /* Raised (set to non-zero) by another thread to stop after the current batch. */
    volatile gint *cancel;
} DnObserver;

typedef struct {
    const char *data_path; /* overrides the experiment's data */
    const char *out_dir;   /* overrides the output folder */
    int epochs;            /* > 0 overrides */
    gboolean seed_set;     /* TRUE: seed overrides */
    guint64 seed;
    int threads;            /* > 0: CPU threads */
    const char *device;     /* overrides */
    int batch_every;        /* BATCH events every N batches (0: 20) */
    const char *resume_dir; /* continue the run in this folder from its latest checkpoint */
    gboolean overwrite;     /* a new run clears OUT/NAME (a run folder only) instead of taking
                             * the next free OUT/NAME-N when it holds an earlier run */
    gboolean profile;       /* continual runs: time the parts (DnRunResult.profile_json) */
    /* Each epoch's `latest` is synced and renamed into place before that epoch's EPOCH
     * event, for an observer that reads it at every epoch. Without it the sync overlaps
     * the next epoch: at an EPOCH event `latest` may still hold the epoch before (a
     * whole file either way), and it is the newest once the run returns. */
    gboolean sync_latest;
    const char *init_model; /* a new plain or dendritic run starts from this model's weights
                             * (dn_network_init_from) instead of random ones */
} DnRunOptions;

typedef struct {
    double best_val;
    double test_at_best_val;
    int best_epoch;
    int64_t params;
    double seconds;
    char *run_dir;
    char *model_path;
    /* continual runs with opts->profile: seconds per part, as JSON */
    char *profile_json;
} DnRunResult;

void dn_run_result_clear (DnRunResult *r);

/* Accuracy (percent) and mean loss of a network on a dataset, evaluated in batches. */
gboolean dn_evaluate (DnNetwork *net, const DnDataset *data, const DnNormalize *norm,
                      DnLossKind loss, int batch_size, double *accuracy, double *mean_loss,
                      GError **error);

/* What a network predicts against what is true: counts[t * n_classes + p] samples of
 * true class t were predicted as class p (the first largest output, as accuracy counts
 * it). n_classes is the larger of the network's outputs and the data's classes. */
#define DN_CONFUSION_MAX_CLASSES 4096
typedef struct {
    int n_classes;
    int64_t *counts; /* (n_classes, n_classes): row the true class, column the predicted */
    int64_t total;   /* samples tallied */
} DnConfusion;

DnConfusion *dn_confusion_new (int n_classes);
void dn_confusion_free (DnConfusion *c);
int64_t dn_confusion_at (const DnConfusion *c, int truth, int predicted);
/* Fractions in [0, 1]: of the samples predicted as k, how many are k (NaN when none
 * was); of the samples of class k, how many were predicted as k (NaN when none is). */
double dn_confusion_precision (const DnConfusion *c, int k);
double dn_confusion_recall (const DnConfusion *c, int k);
/* Percent of the samples on the diagonal; NaN when empty. */
double dn_confusion_accuracy (const DnConfusion *c);

/* dn_evaluate, and with confusion not NULL the confusion matrix too (NULL for
 * empty data; free with dn_confusion_free). The accuracy and loss are dn_evaluate's. */
gboolean dn_evaluate_confusion (DnNetwork *net, const DnDataset *data, const DnNormalize *norm,
                                DnLossKind loss, int batch_size, double *accuracy,
                                double *mean_loss, DnConfusion **confusion, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DnConfusion, dn_confusion_free)

G_END_DECLS
