/* dn-experiment.h: an experiment file, and the one training loop of the project.
 *
 * An experiment (a JSON file; docs/experiment-format.md documents every field)
 * names the data, the network, the training settings and the output folder.
 * The GUI saves exactly this file; `dendrite train` runs it.
 *
 * dn_experiment_run() owns a run: it loads the data, builds the network,
 * optimizer and scheduler from one seeded RNG, trains epoch by epoch and
 * reports through an observer (a callback plus user data). It never prints
 * and never exits; it polls a cancel flag between batches.
 */
#pragma once

#include "dn-continual.h"
#include "dn-data.h"
#include "dn-dendrite.h"
#include "dn-normalize.h"
#include "dn-network.h"
#include "dn-optim.h"
#include "dn-tracker.h"

G_BEGIN_DECLS

typedef enum {
    DN_LOSS_CROSS_ENTROPY,
    DN_LOSS_NLL,
    DN_LOSS_MSE,
    DN_LOSS_BCE_LOGITS,
} DnLossKind;

typedef struct {
    char *name;     /* a short name for the run; default: the file's base name */
    char *base_dir; /* folder relative paths are resolved against */

    /* data */
    char *data_format;            /* "idx" or "csv" */
    char *data_path;              /* idx: a folder; csv: a file. NULL: the bundled MNIST sample */
    char *test_path;              /* csv only: a separate test file (else split off) */
    char *label_column;           /* csv: a column name; NULL: the last column */
    double val_fraction;          /* of the training set, held out for validation (0.1) */
    double test_fraction;         /* csv without test_path: held out for testing (0.2) */
    gboolean normalize_from_data; /* "normalize": "dataset" (default) */
    DnNormalize normalize;        /* explicit {"mean": [...], "std": [...]} or identity */

    /* network */
    JsonNode *network;

    /* training */
    DnOptimConfig optim;
    DnSchedConfig sched;
    DnLossKind loss;
    double label_smoothing;
    int batch_size;
    int epochs;
    guint64 seed;
    char *device; /* "cpu", "cuda", "auto" */

    /* output */
    char *out_dir; /* default "runs" */

    /* dendrites: present in the file = a dendritic run driven by the tracker */
    gboolean dendrites;
    DnTrackerConfig tracker;
    DnDendriteSelection selection;
    char *description;
    /* "continual" section: a sequence of permuted tasks instead of one training run */
    gboolean continual;
    DnContinualConfig cl;
} DnExperiment;

/* Experiment files larger than this are refused before they are read through. */
#define DN_EXPERIMENT_MAX_BYTES (16 * 1024 * 1024)

DnExperiment *dn_experiment_new_default (void);
DnExperiment *dn_experiment_load (const char *path, GError **error);
DnExperiment *dn_experiment_from_json (JsonNode *root, const char *base_dir, const char *what,
                                       GError **error);
JsonNode *dn_experiment_to_json (const DnExperiment *exp);
gboolean dn_experiment_save (const DnExperiment *exp, const char *path, GError **error);
void dn_experiment_free (DnExperiment *exp);
const char *dn_loss_kind_name (DnLossKind kind);
/* The bundled MNIST sample: installed data dir, else the source tree's. */
char *dn_default_data_dir (void);
/* Looks for a data file the way the CLI does: as given, then relative to base_dir. */
char *dn_experiment_resolve_path (const DnExperiment *exp, const char *path);

/* ---- running ---- */

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
    /* dendritic runs (NULL / 0 otherwise); the tracker is valid during the call only */
    const DnTracker *tracker;
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
    const char *save_name;         /* the run's name, for file names */
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

/* Continual experiments (exp->continual; see dn-continual.h). */
gboolean dn_continual_run (DnExperiment *exp, const DnRunOptions *opts, const DnObserver *observer,
                           DnRunResult *result, GError **error);

/* A saved continual model on every task of `test` (its permutations and prototypes
 * come from the model's metadata, every member checked; `what` names the model file in
 * messages): per-task accuracies (percent, g_free) and their mean. */
gboolean dn_continual_evaluate (DnNetwork *net, GHashTable *metadata, const char *what,
                                const DnDataset *test, const DnNormalize *norm, int batch_size,
                                double **per_task, int *tasks, double *average, GError **error);

gboolean dn_experiment_run (DnExperiment *exp, const DnRunOptions *opts, const DnObserver *observer,
                            DnRunResult *result, GError **error);
/* Continues the run in run_dir (its experiment.json and latest checkpoint) after a
 * crash, kill or stop; the result is the same as an uninterrupted run. */
gboolean dn_experiment_resume (const char *run_dir, const DnRunOptions *opts,
                               const DnObserver *observer, DnRunResult *result, GError **error);

/* Accuracy (percent) and mean loss of a network on a dataset, evaluated in batches. */
gboolean dn_evaluate (DnNetwork *net, const DnDataset *data, const DnNormalize *norm,
                      DnLossKind loss, int batch_size, double *accuracy, double *mean_loss,
                      GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DnExperiment, dn_experiment_free)

G_END_DECLS
