/* dn-experiment.h: an experiment file.
 *
 * An experiment (a JSON file; docs/experiment-format.md documents every field)
 * names the data, the network, the training settings and the output folder.
 * The GUI saves exactly this file; `dendrite train` runs it (dn-run.h, or
 * dn-continual.h for one with a "continual" section).
 */
#pragma once

#include "dn-continual-config.h"
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

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DnExperiment, dn_experiment_free)

G_END_DECLS
