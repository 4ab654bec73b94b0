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

/* ---- perforated backpropagation (dn-run-pb.c), for the plain/dendritic schedule ---- */

/* One dendritic node's candidate during a dendrite phase. */
typedef struct {
    char *name;
    int node; /* its index in the network */
    int channels;
    double *mean_v, *mean_e; /* running means (channels) */
    double *best;            /* each channel's best epoch score in the phase; -1: none yet */
    double *score;           /* the last epoch's score per channel */
    double *sums;            /* this epoch's sums of v, e, ve, v^2, e^2 (5, channels) */
    int64_t n;               /* samples in them */
    float *snap;             /* the candidate with each channel's rows from its best epoch */
    size_t snap_size;
} DnPbLayer;

typedef struct {
    const DnPbSettings *cfg;
    DnBackend *be;
    gboolean in_phase;
    int64_t batches; /* of this phase: the warm-up counter */
    int n_layers;
    DnPbLayer *layers;
    int capacity;        /* samples a batch may hold */
    float *v, *e, *dv;   /* (capacity, channels) host scratch */
    double *bsum;        /* (2, channels): a batch's sums of v and of e per channel */
    float *frozen;       /* the buffer arena as the phase started (backend memory) */
} DnPb;

void _dn_pb_init (DnPb *pb, const DnPbSettings *cfg, DnBackend *be);
void _dn_pb_clear (DnPb *pb);
/* Every dendritic node's mode: PB_CANDIDATE in a phase, else PB_NEURON. Again after
 * every network replacement. */
void _dn_pb_apply (DnPb *pb, DnNetwork *net);
/* After the candidates were added (dn_network_add_dendrites): a phase begins; the
 * snapshots hold the fresh candidates. Fails where a module mixes channels. */
gboolean _dn_pb_start (DnPb *pb, DnNetwork *net, int capacity, GError **error);
/* Installs every channel's best snapshot and returns to neuron training. */
void _dn_pb_end (DnPb *pb, DnNetwork *net);
void _dn_pb_epoch_begin (DnPb *pb);
/* After dn_run_step() on `batch` samples in a phase: statistics, candidate gradients,
 * frozen running statistics put back. */
gboolean _dn_pb_after_step (DnPb *pb, DnNetwork *net, int batch, GError **error);
/* The optimizer step of a PB run: the candidates only in a phase; outside, everything
 * but the dendrites (unless learn_dendrites_live). */
void _dn_pb_optimizer_step (DnPb *pb, DnNetwork *net, DnOptimizer *opt, double lr);
/* The epoch's score per channel; a channel that beat its best keeps this epoch's rows. */
void _dn_pb_epoch_end (DnPb *pb, DnNetwork *net);
/* Tells the tracker the epoch's scores (dn_tracker_set_candidate_scores). */
void _dn_pb_report (DnPb *pb, DnTracker *t);
/* The phase for `latest` ("dendrite_pb" metadata), and back onto the loaded network. */
char *_dn_pb_state_to_string (const DnPb *pb);
gboolean _dn_pb_state_load (DnPb *pb, DnNetwork *net, int capacity, const char *file,
                            const char *text, GError **error);

G_END_DECLS
