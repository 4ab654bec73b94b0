/* dn-tracker-test.h: what the tracker tests share: a tracker from a config,
 * feeding it scores, reading its actions and history, and the LR-sweep script. */
#pragma once

#include "dn-error.h"
#include "dn-test-util.h"
#include "dn-tracker.h"

#include <math.h>
#include <string.h>

/* ---- helpers ---- */

static inline DnTrackerConfig defaults (void)
{
    DnTrackerConfig c;
    dn_tracker_config_defaults (&c);
    return c;
}

static inline DnTracker *make (const DnTrackerConfig *cfg, const DnSchedConfig *sched, double lr)
{
    g_autoptr (GError) error = NULL;
    DnTracker *t = dn_tracker_new (cfg, sched, lr, &error);
    g_assert_no_error (error);
    g_assert_nonnull (t);
    return t;
}

/* The parameter count the engine would report: it grows with the sets. */
static inline int64_t params_of (const DnTracker *t)
{
    return 1000 * (int64_t) (dn_tracker_dendrites (t) + 1);
}

static inline void feed_full (DnTracker *t, double val, double test, gboolean force,
                              DnTrackerAction *a)
{
    DnTrackerScores s = {
        .val = val, .test = test, .seconds = 2.0, .params = params_of (t), .force_switch = force};
    g_autoptr (GError) error = NULL;
    gboolean ok = dn_tracker_add_score (t, &s, a, &error);
    g_assert_no_error (error);
    g_assert_true (ok);
}

static inline void feed (DnTracker *t, double val, DnTrackerAction *a)
{
    feed_full (t, val, NAN, FALSE, a);
}

/* Feeds n scores; returns the decision of the last one. */
static inline DnTrackerDecision feed_n (DnTracker *t, const double *vals, int n, DnTrackerAction *a)
{
    for (int i = 0; i < n; i++)
        feed (t, vals[i], a);
    return a->decision;
}

/* The ops of an action as text, e.g. "restore best_model@14/k0, add 1, save latest". */
static inline char *ops_text (const DnTrackerAction *a)
{
    GString *s = g_string_new (NULL);
    for (int i = 0; i < a->n_ops; i++) {
        const DnTrackerOp *op = &a->ops[i];
        if (i > 0)
            g_string_append (s, ", ");
        switch (op->kind) {
        case DN_TRACKER_OP_SAVE:
            g_string_append_printf (s, "save %s", op->name);
            break;
        case DN_TRACKER_OP_COPY:
            g_string_append_printf (s, "copy %s>%s", op->from, op->name);
            break;
        case DN_TRACKER_OP_RESTORE:
            g_string_append_printf (s, "restore %s@%d/k%d", op->name, op->epoch, op->dendrites);
            break;
        case DN_TRACKER_OP_ADD_DENDRITES:
            g_string_append_printf (s, "add %d", op->dendrites);
            break;
        case DN_TRACKER_OP_SAVE_GRAPHS:
            g_string_append_printf (s, "graphs %s%s%s", op->name, op->timestamped ? " ts" : "",
                                    op->before_restore ? " pre" : "");
            break;
        case DN_TRACKER_OP_SAVE_CLEAN:
            g_string_append_printf (s, "clean %s", op->name);
            break;
        case DN_TRACKER_OP_START_DENDRITE_PHASE:
            g_string_append_printf (s, "start phase/k%d", op->dendrites);
            break;
        case DN_TRACKER_OP_END_DENDRITE_PHASE:
            g_string_append_printf (s, "end phase %d", op->dendrites);
            break;
        }
    }
    return g_string_free (s, FALSE);
}

#define assert_ops(a, want)                                                                        \
    do {                                                                                           \
        g_autofree char *got_ = ops_text (a);                                                      \
        g_assert_cmpstr (got_, ==, want);                                                          \
    } while (0)

static inline int n_rows (const DnTracker *t)
{
    int n;
    dn_tracker_epochs (t, &n);
    return n;
}

static inline const DnTrackerEpoch *row (const DnTracker *t, int i)
{
    int n;
    const DnTrackerEpoch *rows = dn_tracker_epochs (t, &n);
    g_assert_cmpint (i, >=, 0);
    g_assert_cmpint (i, <, n);
    return &rows[i];
}

/* 50, 51, ..., 64 over epochs 0..14, then 60 for ever. */
static inline double rising_then_flat (int epoch)
{
    return epoch < 15 ? 50.0 + epoch : 60.0;
}

static inline DnSchedConfig step_sched (void)
{
    DnSchedConfig s;
    dn_sched_config_defaults (&s, DN_SCHED_STEP);
    s.step_size = 2;
    s.gamma = 0.5;
    return s;
}

/* Scores by call: cycle 0, then three trials of the starting rate for set 1. */
static const double sweep_script[] = {
    10, 20, 30, 40, 50, 60, 60, 60, 60, 60, /* best at 5, switch at 9 */
    61, 62, 63, 64,                         /* trial with the base rate */
    63, 65, 66, 67,                         /* one step lower */
    60, 62,                                 /* two steps lower: worse */
    67, 67, 67, 67, 67,                     /* the picked trial goes on */
};

static inline DnTrackerConfig sweep_config (void)
{
    DnTrackerConfig c = defaults ();
    dn_tracker_list_set (&c.n_epochs_to_switch, 4);
    return c;
}
