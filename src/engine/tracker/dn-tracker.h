/* dn-tracker.h: the dendrite tracker, the controller that decides when a run grows.
 *
 * A pure state machine (spec perforated-dendrites.md §6): one validation score
 * per epoch in, a decision out, plus the history that charts and CSV files
 * need. No I/O, no tensors, no clock: it is tested on score sequences alone.
 *
 * One epoch, seen from the engine:
 *
 *     lr = dn_tracker_lr (t);                    the rate to train this epoch with
 *     train, evaluate; fill a DnTrackerScores;
 *     dn_tracker_add_score (t, &scores, &action, &error);
 *     for each action.ops[i], in order:          save / copy / restore checkpoints,
 *         ...                                    add dendrites, snapshot graphs
 *     if action.rebuild_optimizer: new optimizer (fresh state) over the new parameters
 *     if action.complete: stop; the model in memory is the final one
 *
 * Conventions a reader cannot guess:
 *
 * - The tracker owns the learning-rate schedule (spec §3.2: "the scheduler is
 *   stepped only by the tracker"). It keeps a DnScheduler built from the
 *   experiment's scheduler settings, steps it after each epoch that does not
 *   restructure, and rebuilds and fast-forwards it after each restructure
 *   (§7). The engine never steps a scheduler; it trains each epoch with
 *   dn_tracker_lr(). ReduceLROnPlateau's direction follows maximizing_score.
 * - The tracker rewinds itself. When a decision restores a checkpoint
 *   (best_model at a switch, retry or completion; switch_N or PBCount_... in
 *   the LR sweep), the tracker has already replaced its own state with the
 *   state it had when it asked for that checkpoint to be saved: the engine
 *   restores weights only. Epochs a rollback discards move to the rolled-back
 *   history (dn_tracker_get_rollback) for faint drawing and still count in
 *   dn_tracker_total_epochs().
 * - Epoch numbers in the history are 0-based (the index of the score, the
 *   "Epochs" column of the reference CSVs; the epoch axis is the rolled-back
 *   one). Messages speak to people and count epochs from 1, as the progress
 *   line does: "restoring epoch 15" is history row 14.
 * - A run resumes exactly: save dn_tracker_state_to_string() after the
 *   engine has carried out an action (in `latest`), and a tracker made by
 *   dn_tracker_state_from_string() gives the same later decisions. The string
 *   holds the configuration, the scheduler state, the history and the states
 *   the tracker may roll back to.
 * - Scores are compared with the reference's exact formulas (§6.3), but "no
 *   best yet" is an explicit flag rather than the value 0 (§6.3 edge case 2,
 *   §16.9): a score of exactly 0 (a perfect loss) is a real score here.
 * - Perforated Backpropagation (cfg.perforated_backpropagation): where
 *   gradient-descent dendrites switch with RESTORE + ADD_DENDRITES, the
 *   tracker asks for RESTORE + START_DENDRITE_PHASE and enters dendrite mode
 *   ('p' rows). Before each dendrite-mode add_score the engine hands in the
 *   epoch's candidate correlation scores (dn_tracker_set_candidate_scores);
 *   the validation score is recorded but moves neither the best model nor the
 *   running score. The phase ends with END_DENDRITE_PHASE (the set count is
 *   one higher from then), and the next neuron phase judges the set exactly
 *   as a gradient-descent set (accept, retry with a fresh phase, stop).
 */
#pragma once

#include "dn-optim.h"

#include <json-glib/json-glib.h>
#include <stdint.h>

G_BEGIN_DECLS

#define DN_TRACKER_LIST_MAX 16 /* entries of a per-dendrite-count list */
#define DN_TRACKER_MAX_EXTRA 8 /* extra score series (training score, ...) */
#define DN_TRACKER_MAX_OPS 12  /* operations one decision can ask for */
#define DN_TRACKER_NAME_MAX 64 /* a checkpoint name or graph suffix, with its NUL */
#define DN_TRACKER_MESSAGE_MAX 512
#define DN_TRACKER_MAX_CORR 32 /* dendritic layers with a correlation series */

/* ---- configuration: the experiment file's "dendrites" section ---- */

/* Values are the reference's (spec §6.5). */
typedef enum {
    DN_TRACKER_SWITCH_EVERY_EPOCH = 0, /* DOING_SWITCH_EVERY_TIME */
    DN_TRACKER_SWITCH_HISTORY = 1,     /* DOING_HISTORY: patience */
    DN_TRACKER_SWITCH_FIXED = 2,       /* DOING_FIXED_SWITCH */
    DN_TRACKER_SWITCH_NEVER = 3,       /* DOING_NO_SWITCH: stop by hand or by an epoch limit */
} DnTrackerSwitchMode;

/* How a rebuilt scheduler counts the epochs it replays (§7). */
typedef enum {
    DN_TRACKER_PARAM_VALS_BY_TOTAL_EPOCH = 0,
    DN_TRACKER_PARAM_VALS_BY_UPDATE_EPOCH = 1,
    DN_TRACKER_PARAM_VALS_BY_NEURON_EPOCH_START = 2, /* = by total epoch without PB */
} DnTrackerParamVals;

/* A setting that may vary with the dendrite count (the list rule, spec §8):
 * the value used with k dendrite sets is v[min(n - 1, k)]. n >= 1. */
typedef struct {
    int n;
    double v[DN_TRACKER_LIST_MAX];
} DnTrackerList;

/* Every tracker setting of spec §8 and the conversion arguments that reach
 * the tracker. JSON names are the reference's snake_case names. */
typedef struct {
    gboolean doing_pai;                 /* true; false: early stopping, no dendrites */
    gboolean maximizing_score;          /* true; false for losses */
    double num_classes;                 /* 1e10; seeds the running score at 100/num_classes */
    gboolean testing_dendrite_capacity; /* FALSE here (reference: true), see §6.9 */
    DnTrackerSwitchMode switch_mode;    /* history */
    DnTrackerList n_epochs_to_switch;   /* 10: patience, whole epochs >= 1 */
    DnTrackerList history_lookback;     /* 1: running score EMA factor 1/L, L >= 1 */
    DnTrackerList initial_history_after_switches; /* 0: grace epochs after each switch */
    DnTrackerList fixed_switch_num;               /* 250: fixed-mode period */
    DnTrackerList first_fixed_switch_num;         /* -1: no later first switch */
    DnTrackerList improvement_threshold;          /* [0.001, 0.0001, 0.0]: relative, in [0, 1) */
    DnTrackerList improvement_threshold_raw;      /* 1e-5: absolute, >= 0 */
    DnTrackerList max_dendrite_tries;             /* 2: attempts per dendrite count (1 retry) */
    DnTrackerList max_dendrites;                  /* 100: compared by equality */
    gboolean retain_all_dendrites;                /* false */
    gboolean find_best_lr;                        /* true: the LR sweep (§6.10) */
    gboolean dont_give_up_unless_learning_rate_lowered; /* true */
    gboolean reset_best_score_on_switch;                /* true */
    DnTrackerParamVals param_vals_setting;              /* by update epoch */
    gboolean save_old_graph_scores; /* true: keep every rolled-back history, else the last */
    gboolean test_saves;            /* true: latest, beforeSwitch_N, PBCount_... checkpoints */
    /* Perforated Backpropagation (correlation-trained dendrites), perforatedai 3.2.9 names */
    gboolean perforated_backpropagation; /* false: gradient-descent dendrites */
    int p_epochs_to_switch;           /* 2: a phase ends this many epochs after it last improved */
    double pai_improvement_threshold; /* 0.1: relative, >= 0 (10 %) */
    double pai_improvement_threshold_raw; /* 1e-4: absolute, >= 0 */
    gboolean cap_at_n; /* false: true caps a phase at the length of the neuron phase before it */
} DnTrackerConfig;

void dn_tracker_config_defaults (DnTrackerConfig *cfg);
/* Checks ranges of a configuration made in code; messages name the field. */
gboolean dn_tracker_config_validate (const DnTrackerConfig *cfg, GError **error);
/* Reads the "dendrites" object (NULL: all defaults). Missing members keep
 * their defaults. A number or a list is accepted for every numeric setting.
 * Settings of spec §8 that other modules own (forward function, module
 * lists, ...; see dn_tracker_config_owns_key) are left to them; any other
 * unknown member, a wrong type or a value out of range is DN_ERROR_CONFIG
 * naming the member. */
gboolean dn_tracker_config_from_json (JsonObject *obj, DnTrackerConfig *cfg, GError **error);
/* Writes one complete object with every setting, defaults included. */
void dn_tracker_config_to_json (const DnTrackerConfig *cfg, JsonBuilder *b);
/* The same members without the enclosing object, so the experiment writer
 * can add the settings other modules own to the same "dendrites" object. */
void dn_tracker_config_add_members (const DnTrackerConfig *cfg, JsonBuilder *b);
/* TRUE for the JSON names dn_tracker_config_from_json reads itself. */
gboolean dn_tracker_config_owns_key (const char *key);
const char *dn_tracker_switch_mode_name (DnTrackerSwitchMode mode);

void dn_tracker_list_set (DnTrackerList *list, double value);
/* FALSE when n is not in 1..DN_TRACKER_LIST_MAX. */
gboolean dn_tracker_list_set_values (DnTrackerList *list, const double *values, int n);
/* The value used with `dendrites` dendrite sets: v[min(n - 1, dendrites)]. */
double dn_tracker_list_at (const DnTrackerList *list, int dendrites);

/* ---- the tracker ---- */

typedef struct _DnTracker DnTracker;

/* sched: the experiment's scheduler (NULL or DN_SCHED_NONE: a constant rate,
 * and no LR sweep); base_lr: the optimizer's initial rate. NULL + error when
 * the configuration is out of range. */
DnTracker *dn_tracker_new (const DnTrackerConfig *cfg, const DnSchedConfig *sched, double base_lr,
                           GError **error);
/* A tracker that only records: the history of a run without dendrites, whose
 * schedule and best model are the caller's, so that the same tables and charts
 * show it. It never switches, stops or asks for an operation (its actions have
 * no ops), records the rate each DnTrackerScores.lr gives, and has no schedule
 * of its own (dn_tracker_lr means nothing). Its state round-trips as any other. */
DnTracker *dn_tracker_new_recorder (void);
gboolean dn_tracker_is_recorder (const DnTracker *t);
/* An independent deep copy: configuration, schedule, history, snapshots, rollbacks
 * and events (e.g. an immutable picture for another thread). */
DnTracker *dn_tracker_copy (const DnTracker *t);
void dn_tracker_free (DnTracker *t);

/* Names the extra score series (e.g. "Train"), before the first score; the
 * order is the order of DnTrackerScores.extra. */
gboolean dn_tracker_set_extra_names (DnTracker *t, const char *const *names, int n, GError **error);
/* The unit messages put after a score: "%" gives "98.1 %". Default: none. */
void dn_tracker_set_score_unit (DnTracker *t, const char *unit);

/* Perforated Backpropagation: the candidate correlation scores of the epoch the
 * next dn_tracker_add_score records, called before it for every dendrite-mode
 * epoch. Per dendritic layer (layer_names[l]), per output channel
 * (channel_scores[l][c], c < n_channels[l]): that channel's candidate score
 * measured over this epoch, finite and >= 0. A layer keeps its channel count
 * through a phase. The values are copied; checks happen in add_score, which
 * refuses a dendrite-mode epoch without them, or with a bad value. In neuron
 * mode they are ignored. */
void dn_tracker_set_candidate_scores (DnTracker *t, const char *const *layer_names,
                                      const double *const *channel_scores, const int *n_channels,
                                      int n_layers);
/* The layers that ever had candidate scores, in the order they first came. */
int dn_tracker_n_candidate_layers (const DnTracker *t);
/* Layer i's name, the best correlation its candidates ever reached (over every
 * phase, rolled-back ones included) and the current phase's best (the last
 * phase's once it ended); NaN where none. A layer's score is the mean over its
 * channels of each channel's best in the phase (docs/tracker.md). FALSE when i
 * is out of range. */
gboolean dn_tracker_candidate_layer_scores (const DnTracker *t, int i, const char **name,
                                            double *best_ever, double *phase_best);

/* What one epoch produced. */
typedef struct {
    double val;          /* the validation score; must be finite */
    double test;         /* NaN when there is no test split */
    const double *extra; /* n_extra values, in the order of dn_tracker_set_extra_names */
    int n_extra;
    double seconds;        /* wall time of the epoch */
    int64_t params;        /* the network's parameter count this epoch (spec §9) */
    gboolean force_switch; /* the reference's force_switch: switch now */
    double lr;             /* recorders only: the rate the epoch trained with */
} DnTrackerScores;

typedef enum {
    DN_TRACKER_CONTINUE,      /* train the next epoch (maybe after saving best_model) */
    DN_TRACKER_ADD_DENDRITES, /* restored the best checkpoint, a new dendrite set is added */
    DN_TRACKER_RETRY,         /* the newest set was rejected: restored the best checkpoint
                               * (one set fewer) and a fresh set replaces it */
    DN_TRACKER_RESTART_LR,    /* LR sweep: restored a checkpoint of this cycle; new start rate */
    DN_TRACKER_COMPLETE,      /* training is over; the ops restore the final model */
} DnTrackerDecision;

typedef enum {
    DN_TRACKER_DONE_NONE,
    DN_TRACKER_DONE_NO_IMPROVEMENT, /* a set was rejected with no retries left */
    DN_TRACKER_DONE_MAX_DENDRITES,  /* max_dendrites sets were added and kept */
    DN_TRACKER_DONE_EARLY_STOPPING, /* doing_pai is false: patience ran out */
    DN_TRACKER_DONE_CAPACITY_TEST,  /* the dry run added 3 sets without a problem */
} DnTrackerDoneReason;

typedef enum {
    /* Save the current weights as checkpoint `name` (with the tracker state). */
    DN_TRACKER_OP_SAVE,
    /* Copy checkpoint `from` to `name` (best_model -> best_model_beforeSwitch_N). */
    DN_TRACKER_OP_COPY,
    /* Load checkpoint `name`: `dendrites` sets, saved at history row `epoch`. */
    DN_TRACKER_OP_RESTORE,
    /* Add one fresh dendrite set to every neuron module; `dendrites` sets after. */
    DN_TRACKER_OP_ADD_DENDRITES,
    /* Snapshot the CSVs and graph with suffix `name` (spec §10.2). `timestamped`:
     * the writer puts "_<dd.mm.YYYY.HH.MM.SS>" before it. `before_restore`:
     * draw the history as it stood before this decision's RESTORE, which is
     * the current rows up to the last rollback's first_epoch followed by
     * that rollback's rows. */
    DN_TRACKER_OP_SAVE_GRAPHS,
    /* Save the clean inference model (spec §11) as `name`. */
    DN_TRACKER_OP_SAVE_CLEAN,
    /* Perforated Backpropagation, instead of ADD_DENDRITES: add one candidate
     * dendrite set to every dendritic node (the newest set, output weights
     * zero, so the function is unchanged), freeze neurons and earlier
     * dendrites, and train only the candidates on the correlation objective.
     * `dendrites`: the installed sets (unchanged by the start). */
    DN_TRACKER_OP_START_DENDRITE_PHASE,
    /* Install each channel's best candidate snapshot as the new dendrite set
     * (output weights zero) and return to neuron training; `dendrites` sets
     * after it. */
    DN_TRACKER_OP_END_DENDRITE_PHASE,
} DnTrackerOpKind;

typedef struct {
    DnTrackerOpKind kind;
    char name[DN_TRACKER_NAME_MAX];
    char from[DN_TRACKER_NAME_MAX];
    int dendrites;
    int epoch;
    gboolean timestamped;
    gboolean before_restore;
} DnTrackerOp;

/* The decision for one epoch. Plain data: no pointers, nothing to free. */
typedef struct {
    DnTrackerDecision decision;
    DnTrackerDoneReason done;
    int epoch;             /* history row of the score just added */
    gboolean new_best;     /* it set a new global best (best_model is saved) */
    gboolean restructured; /* the reference's return pair (spec §3.2.5) */
    gboolean complete;
    gboolean rebuild_optimizer; /* parameters changed or were restored: fresh optimizer */
    double lr;                  /* the rate for the next epoch (dn_tracker_lr) */
    int restored_epoch;         /* history row restored, -1 if none */
    int dendrites;              /* dendrite sets after the ops */
    int n_ops;
    DnTrackerOp ops[DN_TRACKER_MAX_OPS];
    char message[DN_TRACKER_MESSAGE_MAX]; /* plain words; "" for an uneventful epoch */
} DnTrackerAction;

/* The main call (spec §6.4): records one epoch and decides. FALSE + error
 * (nothing recorded) when the score is not finite, the extras do not match
 * dn_tracker_set_extra_names, or training is already complete. */
gboolean dn_tracker_add_score (DnTracker *t, const DnTrackerScores *scores, DnTrackerAction *action,
                               GError **error);

/* The learning rate to train the next epoch with. */
double dn_tracker_lr (const DnTracker *t);

/* ---- progress ---- */

typedef enum {
    DN_TRACKER_MODE_NEURON,   /* 'n': all parameters train (the only mode of GD dendrites) */
    DN_TRACKER_MODE_DENDRITE, /* 'p': correlation training, Perforated Backpropagation only */
} DnTrackerMode;

typedef struct {
    DnTrackerMode mode;
    int dendrites;             /* sets in the current architecture */
    int tries;                 /* retries used for the current count (attempts - 1) */
    int epoch;                 /* history row the next score will have */
    int epochs_since_improved; /* since the cycle's running score last improved; in a
                                * dendrite phase: since a candidate channel last improved */
    int switch_in;             /* epochs until a switch can happen; -1: not by count; in a
                                * dendrite phase: epochs until it ends if nothing improves */
    gboolean sweep_blocking;   /* the LR sweep holds the switch back */
    gboolean complete;
} DnTrackerStatus;

void dn_tracker_get_status (const DnTracker *t, DnTrackerStatus *status);
/* One line for a progress display: "neuron phase, 2 dendrite sets, 3 epochs
 * without improvement, switching in 7". Free with g_free. */
char *dn_tracker_status_text (const DnTracker *t);

/* ---- history (spec §10.2, §10.3); pointers stay valid until the next add_score ---- */

typedef struct {
    int epoch;       /* row index on the rolled-back axis */
    int total_epoch; /* scores received before this one: overwritten epochs count */
    int cycle_epoch; /* epochs since the last switch */
    int dendrites;
    DnTrackerMode mode;
    double val;
    double running; /* running (EMA) validation score */
    double test;    /* NaN: none */
    double extra[DN_TRACKER_MAX_EXTRA];
    double seconds;
    double lr;
    int64_t params;
    int last_improved;        /* epoch_last_improved after this epoch (scheduler replay, §7) */
    gboolean new_best;        /* the running score set a new best of its cycle */
    gboolean new_global_best; /* ... and of the run: best_model was saved */
    /* per dendritic layer (dn_tracker_correlation_name): how well its newest
     * dendrite set follows the neuron's remaining error; NaN: no value */
    double correlation[DN_TRACKER_MAX_CORR];
    /* Perforated Backpropagation, per candidate layer (dn_tracker_candidate_layer_scores'
     * index), as of this epoch: the best correlation its candidates ever reached, and
     * the best of this epoch's dendrite phase; NaN: none (phase best: a neuron epoch) */
    double pb_best_ever[DN_TRACKER_MAX_CORR];
    double pb_phase_best[DN_TRACKER_MAX_CORR];
    gboolean pb_improved; /* a dendrite-phase epoch in which a candidate channel improved */
} DnTrackerEpoch;

const DnTrackerEpoch *dn_tracker_epochs (const DnTracker *t, int *n);
/* The correlation values of the epoch the next dn_tracker_add_score records, one
 * per named layer (new names are appended to the series list). */
void dn_tracker_set_correlations (DnTracker *t, const char *const *names, const double *values,
                                  int n);
int dn_tracker_n_correlations (const DnTracker *t);
const char *dn_tracker_correlation_name (const DnTracker *t, int i);
int dn_tracker_n_extra (const DnTracker *t);
const char *dn_tracker_extra_name (const DnTracker *t, int i);

typedef enum {
    DN_TRACKER_SWITCH_ADD,   /* a new dendrite set */
    DN_TRACKER_SWITCH_RETRY, /* a fresh set replacing a rejected one */
} DnTrackerSwitchKind;

/* A dendrite addition still part of the history. In the reference each
 * appears twice in switch_epochs: to dendrite training (red line) and back
 * to neuron training (blue line), at the same epoch for gradient-descent
 * dendrites (§6.6), at the start and end of the dendrite phase for
 * Perforated Backpropagation. */
typedef struct {
    int epoch;      /* history row the model was restored to (red line) */
    int end_epoch;  /* row where neuron training resumed (blue line): == epoch for
                     * gradient-descent dendrites, the phase's last row for PB, -1
                     * while the phase runs */
    int dendrites;  /* sets after the addition */
    int try_index;  /* 0 for the first attempt at this count */
    int64_t params; /* parameter count after it; -1 until the next epoch reports it */
    DnTrackerSwitchKind kind;
} DnTrackerSwitch;

const DnTrackerSwitch *dn_tracker_switches (const DnTracker *t, int *n);
/* The reference's doubled lists for switch_epochs.csv and param_counts.csv:
 * each switch twice (epoch, then end_epoch; a running phase only once); param
 * counts start with the initial count. g_free. */
int *dn_tracker_compat_switch_epochs (const DnTracker *t, int *n);
int64_t *dn_tracker_compat_param_counts (const DnTracker *t, int *n);

typedef enum {
    DN_TRACKER_ROLLBACK_SWITCH, /* to best_model before adding a set */
    DN_TRACKER_ROLLBACK_RETRY,  /* to best_model after a set was rejected */
    DN_TRACKER_ROLLBACK_FINAL,  /* to best_model at completion */
    DN_TRACKER_ROLLBACK_SWEEP,  /* LR sweep: to switch_N or PBCount_... */
} DnTrackerRollbackKind;

/* Epochs a rollback discarded: rows first_epoch..from_epoch as they were. */
typedef struct {
    DnTrackerRollbackKind kind;
    int from_epoch;  /* last row before the rollback */
    int to_epoch;    /* row restored */
    int first_epoch; /* first discarded row (<= to_epoch + 1 after an LR-sweep branch) */
    int total_epoch; /* total epochs run when it happened */
    int n_rows;
    const DnTrackerEpoch *rows;
} DnTrackerRollback;

int dn_tracker_n_rollbacks (const DnTracker *t);
gboolean dn_tracker_get_rollback (const DnTracker *t, int i, DnTrackerRollback *out);

/* The chart markers of §10.3. */
typedef struct {
    gboolean has_global_best;
    double global_best; /* running score */
    int global_best_epoch;
    int epoch_last_improved;  /* the green "Epoch Last Improved" dot */
    double last_improved_val; /* val at epoch_last_improved; NaN if not in the history */
} DnTrackerMarkers;

void dn_tracker_get_markers (const DnTracker *t, DnTrackerMarkers *m);

/* One row per architecture kept in the history (best_test_scores.csv, §10.2):
 * the parameter count, the best validation score and the test score at that
 * epoch (the validation score when no test score was recorded). */
typedef struct {
    int dendrites;
    int64_t params;
    int epoch;
    double best_val;
    double test_at_best;
} DnTrackerArchScore;

DnTrackerArchScore *dn_tracker_best_scores (const DnTracker *t, int *n);

/* Every decision in plain words, kept for the run log; not rewound. */
typedef struct {
    int epoch;
    int total_epoch;
    DnTrackerDecision decision;
    DnTrackerDoneReason done;
    int dendrites;
    const char *message;
} DnTrackerEvent;

int dn_tracker_n_events (const DnTracker *t);
gboolean dn_tracker_get_event (const DnTracker *t, int i, DnTrackerEvent *out);

int dn_tracker_dendrites (const DnTracker *t);
int dn_tracker_total_epochs (const DnTracker *t);       /* scores received */
int dn_tracker_overwritten_epochs (const DnTracker *t); /* total - history rows */
gboolean dn_tracker_is_complete (const DnTracker *t);
const DnTrackerConfig *dn_tracker_get_config (const DnTracker *t);

/* ---- checkpoints and resume (spec §6.12) ---- */

/* The whole tracker as one JSON object: configuration, scheduler settings
 * and state, history, rollback targets, events. Beware json-glib 1.6's
 * generator: it prints some doubles as "1e-08.0", which no parser reads (the
 * running score starts at 1e-08), so turn the object into text with
 * dn_tracker_state_to_string, not with json_generator or json_to_string. */
void dn_tracker_state_to_json (const DnTracker *t, JsonBuilder *b);
DnTracker *dn_tracker_state_from_json (JsonObject *obj, GError **error);
/* The same as compact, valid JSON text, e.g. for a safetensors __metadata__
 * value; doubles round-trip exactly. Free with g_free. */
char *dn_tracker_state_to_string (const DnTracker *t);
DnTracker *dn_tracker_state_from_string (const char *text, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DnTracker, dn_tracker_free)

G_END_DECLS
