/* dn-tracker-private.h: the tracker's insides, shared by dn-tracker.c (the
 * state machine), dn-tracker-config.c (settings) and dn-tracker-state.c
 * (JSON state and history accessors). Not installed, not for other modules.
 *
 * The tracker has three parts:
 * - `st`, the restorable state: everything the reference serialises into a
 *   checkpoint (counters, scores, LR-sweep variables, history rows, switches).
 *   A rollback replaces it with a copy of a snapshot.
 * - the snapshots: `st` as it was when the tracker asked for best_model,
 *   switch_N and the latest PBCount_... checkpoint to be saved, i.e. what the
 *   reference would read back from those files.
 * - the append-only record: total epochs, rolled-back rows, events. It
 *   survives rollbacks, as files written before a rollback do.
 */
#pragma once

#include "dn-tracker.h"

G_BEGIN_DECLS

typedef struct {
    int num_epochs_run; /* history row of the next score == rows->len */
    int dendrites;      /* num_dendrites_added, k */
    int tries;          /* num_dendrite_tries */
    int num_cycles;     /* +2 per dendrite addition */
    int last_switch;    /* row of the last switch, 0 before any */
    int epoch_last_improved;
    double running;
    double current_best;
    gboolean has_current_best;
    double global_best;
    gboolean has_global_best;
    int global_best_epoch;
    gboolean cycle_set_global_best; /* current_n_set_global_best */
    int64_t initial_params;
    gboolean has_params;
    /* LR sweep, spec §6.10 */
    int skip_steps;     /* S: decrements pre-applied at the start of this cycle */
    int last_max_steps; /* M */
    double last_max_lr;
    int step_count;       /* Cn: decrements made since the cycle started */
    int test_epoch_count; /* E: the epoch budget of one trial, -1 unset */
    gboolean committed;   /* committed_to_initial_rate */
    int n_trial;
    double trial[2]; /* current_cycle_lr_max_scores */
    /* Perforated Backpropagation: the dendrite phase (rows of mode 'p') */
    int mode;                /* DnTrackerMode of the next epoch */
    int phase_start;         /* row restored to when the phase started (red line) */
    int phase_last_improved; /* last row in which a candidate channel improved */
    int neuron_epochs;       /* epochs the neuron phase before it trained (cap_at_n) */
    GArray *rows;            /* DnTrackerEpoch */
    GArray *switches;        /* DnTrackerSwitch */
} DnTrackerState;

typedef struct {
    DnTrackerRollbackKind kind;
    int from_epoch, to_epoch, first_epoch, total_epoch;
    GArray *rows; /* DnTrackerEpoch */
} DnTrackerRollbackRec;

/* One dendritic layer's candidate scores. Not part of DnTrackerState: a
 * rollback never lands inside a dendrite phase, and a new phase starts its
 * channel bests afresh; the best ever is kept across rollbacks. */
typedef struct {
    char *name;
    int n_channels;       /* of channel_best; 0 before the layer's first phase score */
    double *channel_best; /* this phase's best per channel; NaN: none yet */
    double best_ever;     /* NaN: none */
    double phase_best;    /* mean over channels of channel_best; NaN: none */
    double *pending;      /* the next epoch's scores */
    int n_pending;        /* -1: none handed in */
} DnTrackerCandLayer;

typedef struct {
    int epoch, total_epoch;
    DnTrackerDecision decision;
    DnTrackerDoneReason done;
    int dendrites;
    char *message;
} DnTrackerEventRec;

struct _DnTracker {
    DnTrackerConfig cfg; /* as given; what state_to_json writes */
    DnTrackerConfig run; /* in force: cfg with the capacity-test overrides (§6.9) */
    DnSchedConfig sched; /* DN_SCHED_NONE: constant rate, no sweep */
    double base_lr;
    DnScheduler *scheduler;
    int n_extra;
    char *extra_names[DN_TRACKER_MAX_EXTRA];
    int n_corr;
    char *corr_names[DN_TRACKER_MAX_CORR];
    double pending_corr[DN_TRACKER_MAX_CORR]; /* for the next row; NaN when unset */
    char *score_unit;
    int n_cand;
    DnTrackerCandLayer cand[DN_TRACKER_MAX_CORR];
    gboolean cand_pending;  /* dn_tracker_set_candidate_scores was called for the next epoch */
    gboolean cand_overflow; /* it named more than DN_TRACKER_MAX_CORR layers */

    DnTrackerState st;
    DnTrackerState *snap_best;   /* best_model */
    DnTrackerState *snap_switch; /* switch_<n> of the current cycle */
    DnTrackerState *snap_sweep;  /* the latest PBCount_<k>_startSteps_<s> */
    char snap_switch_name[DN_TRACKER_NAME_MAX];
    char snap_sweep_name[DN_TRACKER_NAME_MAX];

    int total_epochs;  /* scores received */
    GArray *rollbacks; /* DnTrackerRollbackRec */
    GArray *events;    /* DnTrackerEventRec */
    gboolean complete;
    gboolean recorder; /* dn_tracker_new_recorder: records, decides nothing */
};

/* dn-tracker.c */
void dn_tracker_state_init (DnTrackerState *s);
void dn_tracker_state_clear (DnTrackerState *s);
DnTrackerState *dn_tracker_state_dup (const DnTrackerState *s);
void dn_tracker_state_free (DnTrackerState *s);
/* An empty tracker for cfg (validated) and sched; used by new and from_json. */
DnTracker *dn_tracker_alloc (const DnTrackerConfig *cfg, const DnSchedConfig *sched,
                             double base_lr);
void dn_tracker_rollback_rec_clear (DnTrackerRollbackRec *r);
void dn_tracker_event_rec_clear (DnTrackerEventRec *e);
/* A scheduler other than "none" is registered. */
gboolean dn_tracker_has_scheduler (const DnTracker *t);
/* The LR sweep holds the switch back (§6.5). */
gboolean dn_tracker_sweep_blocking (const DnTracker *t);

/* Helpers of dn-tracker.c that the LR sweep shares. */
void dn_tracker_fmt_score (const DnTracker *t, double v, char *buf, size_t n);
DnTrackerOp *dn_tracker_add_op (DnTrackerAction *a, DnTrackerOpKind kind, const char *fmt, ...)
    G_GNUC_PRINTF (3, 4);
void dn_tracker_set_message (DnTrackerAction *a, const char *fmt, ...) G_GNUC_PRINTF (2, 3);
/* Replaces *slot with a copy of s. */
void dn_tracker_snapshot (DnTrackerState **slot, const DnTrackerState *s);
/* Rolls the state back to a copy of snap, as loading that checkpoint does;
 * keeps the discarded rows; returns the restored row. */
int dn_tracker_restore_snapshot (DnTracker *t, const DnTrackerState *snap,
                                 DnTrackerRollbackKind kind);
/* Adds the RESTORE op for the state just restored. */
void dn_tracker_op_restore (DnTracker *t, DnTrackerAction *a, const char *name);

/* Back to neuron mode with one set more (§6.6 "and back"): the new set's
 * switch gets its blue line, and the ADD_DENDRITES (GD) or END_DENDRITE_PHASE
 * (PB) op is added. */
void dn_tracker_neuron_mode_again (DnTracker *t, DnTrackerAction *a);

/* dn-tracker-pb.c: Perforated Backpropagation */
void dn_tracker_cand_clear (DnTracker *t);
void dn_tracker_cand_copy (DnTracker *dst, const DnTracker *src);
/* FALSE + error when a dendrite-mode epoch lacks valid candidate scores. */
gboolean dn_tracker_pb_check_pending (const DnTracker *t, GError **error);
/* Enters the dendrite phase after the restore to row b (START_DENDRITE_PHASE). */
void dn_tracker_pb_start_phase (DnTracker *t, DnTrackerAction *a, int b, int neuron_epochs);
/* Fills row's PB columns; in a dendrite-mode epoch first takes in the pending
 * candidate scores (channel bests, layer scores, the phase's last improvement).
 * Pending scores are used up either way. */
void dn_tracker_pb_record (DnTracker *t, DnTrackerEpoch *row, gboolean dendrite_epoch);
/* After a dendrite-mode row: ends the phase when its rule says so (or forced),
 * adding END_DENDRITE_PHASE and the switch_N save. TRUE when it ended. */
gboolean dn_tracker_pb_maybe_end_phase (DnTracker *t, DnTrackerAction *a, gboolean forced);
/* Status in a dendrite phase: epochs without improvement, epochs until it ends. */
void dn_tracker_pb_status (const DnTracker *t, int *without, int *ending_in);

/* dn-tracker-sweep.c */
/* §7.2: a fresh scheduler fast-forwarded to the current cycle. */
void dn_tracker_rebuild_scheduler (DnTracker *t);
/* §6.10 at an epoch that does not switch; TRUE when it explained a sweep step. */
gboolean dn_tracker_scheduler_and_sweep (DnTracker *t, DnTrackerAction *a, int e, double val);

/* dn-tracker-state.c: the JSON layout, shared with dn-tracker-load.c */
#define DN_TRACKER_FORMAT_NAME "dendrite-studio-tracker"
#define DN_TRACKER_FORMAT_VERSION 1

typedef enum {
    DN_TRACKER_T_INT,
    DN_TRACKER_T_INT64,
    DN_TRACKER_T_DOUBLE,
    DN_TRACKER_T_BOOL,
} DnTrackerMemberType;

/* A scalar member of DnTrackerState or a column of DnTrackerEpoch. */
typedef struct {
    const char *name;
    DnTrackerMemberType type;
    size_t offset;
} DnTrackerMember;

extern const DnTrackerMember dn_tracker_state_members[];
extern const int dn_tracker_n_state_members;
extern const DnTrackerMember dn_tracker_pb_state_members[]; /* optional when reading */
extern const int dn_tracker_n_pb_state_members;
extern const DnTrackerMember dn_tracker_row_members[];
extern const int dn_tracker_n_row_members;
/* JSON names of the enums, indexed by value. */
extern const char *const dn_tracker_decision_names[];    /* DnTrackerDecision */
extern const char *const dn_tracker_done_names[];        /* DnTrackerDoneReason */
extern const char *const dn_tracker_rollback_names[];    /* DnTrackerRollbackKind */
extern const char *const dn_tracker_switch_kind_names[]; /* DnTrackerSwitchKind */

/* dn-tracker-config.c */
/* Writes a list as a number when it has one entry, as an array otherwise. */
void dn_tracker_list_to_json (const DnTrackerList *list, gboolean integral, JsonBuilder *b);

G_END_DECLS
