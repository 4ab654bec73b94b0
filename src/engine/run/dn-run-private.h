/* dn-run-private.h: the run base both schedules (dn-run.c, dn-continual.c) stand on
 * (dn-run-base.c); used inside run/ only.
 *
 * A schedule embeds a DnRunBase: the experiment and options, the backend and the
 * data, the network, optimizer and batch step, the seeded generator, and the run
 * folder it holds locked. The base sets these up, writes the folder's
 * experiment.json copy, the metadata every model file carries and the part of the
 * run state (seed and generator) that every `latest` holds; the schedule keeps its
 * own counters, update and decisions.
 */
#pragma once

#include "dn-model.h"
#include "dn-run-dir.h"
#include "dn-run-step.h"
#include "dn-train-private.h"

G_BEGIN_DECLS

typedef struct {
    DnExperiment *exp;
    const DnRunOptions *opts;
    const DnObserver *obs;
    DnBackend *be;
    RunData d;
    DnNetwork *net;
    DnOptimizer *opt;
    DnRunStep *step;
    DnRng rng;
    guint64 seed;
    DnRunDir *dir; /* locked for the whole run */
    char *run_dir;
} DnRunBase;

/* The options (never NULL) and the seed they choose; nothing is allocated yet. */
void _dn_run_base_init (DnRunBase *b, DnExperiment *exp, const DnRunOptions *opts,
                        const DnObserver *obs);
void _dn_run_base_clear (DnRunBase *b);
/* Threads, backend and the data, split with b->seed (a resumed run sets it first). */
gboolean _dn_run_base_setup (DnRunBase *b, GError **error);
/* The batch step for batches of up to `capacity` samples of the training data into
 * b->net, and the network's memory for them. */
gboolean _dn_run_base_setup_step (DnRunBase *b, int capacity, float label_smoothing,
                                  GError **error);
/* A new run's folder (dn_run_dir_create), said in a log line when a numbered one was
 * taken, with the experiment.json copy of the run that happens: the seed, `epochs`
 * and the data folder as used (absolute, so that a resume reads the same data). */
gboolean _dn_run_base_create_folder (DnRunBase *b, int epochs, GError **error);
/* The folder of a run to resume: locked, its stale temporaries removed
 * (dn_run_dir_open), and its latest.safetensors opened. */
DnSafetensors *_dn_run_base_open_folder (DnRunBase *b, const char *run_dir, GError **error);
/* RUN_DIR/NAME.safetensors. */
char *_dn_run_base_path (const DnRunBase *b, const char *name);
gboolean _dn_run_base_cancelled (const DnRunBase *b);
/* The metadata every model file of a run carries: its normalisation and the class
 * list the training data fixed (eval reads other files through it). */
GHashTable *_dn_run_base_metadata (const DnRunBase *b);

/* The run state in `latest`: a JSON object that opens with the schedule's counter,
 * then "seed" and "rng"; the schedule adds its own members and the closing brace. */
GString *_dn_run_state_begin (const DnRunBase *b, const char *counter, int value);
/* ,"key":v (null when v is not finite) */
void _dn_run_state_add_number (GString *s, const char *key, double v);
/* v, or null when it is not finite */
void _dn_run_state_append_number (GString *s, double v);
/* Reads "seed" and "rng" (checked as dn_run_state_int / dn_run_state_rng do). */
gboolean _dn_run_state_read_seed (const DnStateReader *st, guint64 *seed, guint64 rng[4],
                                  GError **error);

G_END_DECLS
