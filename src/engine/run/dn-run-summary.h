/* dn-run-summary.h: what a run folder holds, read back without training anything.
 *
 * The run table of the desktop app (and anyone listing an output folder) reads each
 * folder through dn_run_summary_read: the copy of the experiment (experiment.json:
 * name, data, network, dendrites or continual), the best model's training metadata
 * (best validation, test at that epoch, dendrite sets kept), the history that
 * latest.safetensors carries (epochs trained, the time they took, parameter counts)
 * and the CSV tables. A folder that is broken or partial (no experiment.json, a
 * stop before the first epoch, a damaged checkpoint, a run still going) is read as
 * far as it goes and says what is wrong in `problem`: reading never fails and
 * never stops at the first fault.
 *
 * Numbers a folder does not give are NaN (scores, seconds) or -1 (counts).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
    char *path;         /* the folder */
    char *name;         /* its base name ("mnist-cnn-2") */
    char *experiment;   /* the experiment's name; NULL without a readable experiment.json */
    char *data;         /* the data the run read: a folder or file, "bundled MNIST sample" */
    char *network;      /* "5 layers: 2 conv2d, 2 linear" */
    char *mode;         /* "none", "dendrites (DOING_HISTORY)", "continual, 10 tasks" */
    int dendrites;      /* dendrite sets in the best model; -1 unknown */
    gint64 params;      /* parameters of the best model's architecture; -1 unknown */
    double best_val;    /* percent; a continual run: the average accuracy over its tasks */
    double test_at_best;
    int epochs;         /* epochs trained, rolled-back ones included; -1 unknown */
    double seconds;     /* the time those epochs took */
    gint64 mtime;       /* when the run last wrote its checkpoint (else the folder), Unix s */
    int tasks;          /* continual runs: the tasks; 0 otherwise */
    gboolean has_best_model, has_latest, has_tables;
    char *problem;      /* NULL: a complete run; else what is wrong, in words */
} DnRunSummary;

/* Never NULL: what could be read, and `problem` for the rest. */
DnRunSummary *dn_run_summary_read (const char *dir);
void dn_run_summary_free (DnRunSummary *s);

/* A summary of every folder directly under out_dir that looks like a run (it holds
 * an experiment.json or a .safetensors file), newest first. NULL + error when
 * out_dir cannot be read; an empty array when it holds no run. */
GPtrArray *dn_run_summary_scan (const char *out_dir, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DnRunSummary, dn_run_summary_free)

G_END_DECLS
