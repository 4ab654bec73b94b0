/* dn-tracker-sweep.c: the tracker's learning-rate schedule (spec §6.10, §7).
 *
 * The tracker owns the scheduler: it steps it after each epoch that does not
 * switch, rebuilds and fast-forwards it after each restructure, and, when
 * find_best_lr is on, sweeps the starting rate of every new dendrite set:
 * train until the rate has dropped twice (or a budget of epochs runs out),
 * keep that trial as PBCount_<k>_startSteps_<S>, restart from switch_<n>
 * with one more decrement pre-applied, and stop when starting lower is worse
 * (ties favour the lower rate).
 */
#include "dn-tracker-private.h"

/* A scheduler that cannot make the decrements the LR sweep asks for (its
 * rate has reached min_lr, say) would loop forever in the reference. */
#define REPLAY_GUARD 100000

static const char *plural (int n)
{
    return n == 1 ? "" : "s";
}

static int steps_after_switch (const DnTracker *t)
{
    if (t->run.param_vals_setting == DN_TRACKER_PARAM_VALS_BY_UPDATE_EPOCH)
        return t->st.num_epochs_run - t->st.last_switch;
    return t->st.num_epochs_run; /* by total epoch; by neuron-epoch start in mode 'n' */
}

/* The recorded epoch_last_improved at a Python-style index (negative counts
 * from the end), clamped into the history. */
static double last_improved_at (const DnTrackerState *s, int i)
{
    int n = (int) s->rows->len;
    if (n == 0)
        return 0.0;
    if (i < 0)
        i += n;
    i = CLAMP (i, 0, n - 1);
    return g_array_index (s->rows, DnTrackerEpoch, i).last_improved;
}

/* §7.2: a fresh scheduler, S decrements pre-applied, then the epochs of this
 * cycle replayed; Cn := the number of rate changes made. */
void dn_tracker_rebuild_scheduler (DnTracker *t)
{
    if (!dn_tracker_has_scheduler (t))
        return;
    DnTrackerState *s = &t->st;
    dn_scheduler_free (t->scheduler);
    t->scheduler = dn_scheduler_new (&t->sched, t->base_lr);
    int changes = 0, sas = steps_after_switch (t);
    double lr1 = dn_scheduler_lr (t->scheduler);
    if (s->skip_steps != 0) {
        int ticker = 0;
        for (int guard = 0; ticker < s->skip_steps && guard < REPLAY_GUARD; guard++) {
            dn_scheduler_step (t->scheduler, last_improved_at (s, sas - 1));
            double lr2 = dn_scheduler_lr (t->scheduler);
            if (lr2 != lr1) {
                changes++;
                ticker++;
                lr1 = lr2;
            }
        }
    }
    int h = (int) dn_tracker_list_at (&t->run.initial_history_after_switches, s->dendrites);
    if (sas > h) {
        int ticks = sas - h - 1; /* minus one: called after the epoch started */
        for (int i = 0; i < ticks; i++) {
            dn_scheduler_step (t->scheduler, last_improved_at (s, i - ticks));
            double lr2 = dn_scheduler_lr (t->scheduler);
            if (lr2 != lr1) {
                changes++;
                lr1 = lr2;
            }
        }
    }
    s->step_count = changes;
}

/* §6.10, run at an epoch that does not switch. `e` is epochs since the switch.
 * TRUE when it put a sweep step into the action's message. */
gboolean dn_tracker_scheduler_and_sweep (DnTracker *t, DnTrackerAction *a, int e, double val)
{
    DnTrackerState *s = &t->st;
    int k = s->dendrites;
    int h = (int) dn_tracker_list_at (&t->run.initial_history_after_switches, k);
    double lr1 = dn_scheduler_lr (t->scheduler);
    if (e > h)
        dn_scheduler_step (t->scheduler, val); /* ReduceLROnPlateau reads the raw score */
    double lr2 = dn_scheduler_lr (t->scheduler);
    /* The reference tests the budget before updating it. */
    gboolean at_last = (s->n_trial == 0 && e == 2 * (gint64) s->test_epoch_count) ||
                       (s->n_trial == 1 && e == s->test_epoch_count);
    gboolean stepped = lr1 != lr2;
    if (stepped) {
        s->step_count++;
        if (s->step_count == s->last_max_steps && s->step_count - s->skip_steps == 1)
            s->test_epoch_count = e;
    }
    if (!stepped && !at_last)
        return FALSE;
    if (s->last_max_steps == 0) {
        /* 3.2.9: the rate never stepped before this set's checkpoint (the first
         * addition, or a schedule that had not decayed yet): commit to the
         * initial rate without a sweep */
        s->committed = TRUE;
        s->last_max_steps = s->step_count;
        s->last_max_lr = lr2;
    }
    if (s->committed || t->snap_switch == NULL) {
        s->last_max_steps++;
        s->last_max_lr = lr2;
        return FALSE;
    }

    double keep = s->global_best;
    gboolean keep_has = s->has_global_best;
    int keep_epoch = s->global_best_epoch;
    char now[64], before[64];
    gboolean explained = FALSE;
    if (s->n_trial == 0 && (s->step_count - s->skip_steps == 2 || at_last)) {
        /* the trial with S decrements is over: start again from switch_N, one lower */
        int skip = s->skip_steps, old_e = s->test_epoch_count, end = s->num_epochs_run;
        double old_best = s->current_best;
        DnTrackerOp *g =
            dn_tracker_add_op (a, DN_TRACKER_OP_SAVE_GRAPHS, "_PBCount_%d_startSteps_%d", k, skip);
        g->timestamped = TRUE;
        g->before_restore = TRUE;
        if (t->run.test_saves)
            dn_tracker_add_op (a, DN_TRACKER_OP_SAVE, "PBCount_%d_startSteps_%d", k, skip);
        dn_tracker_snapshot (&t->snap_sweep, s);
        g_snprintf (t->snap_sweep_name, sizeof t->snap_sweep_name, "PBCount_%d_startSteps_%d", k,
                    skip);
        int b = dn_tracker_restore_snapshot (t, t->snap_switch, DN_TRACKER_ROLLBACK_SWEEP);
        dn_tracker_op_restore (t, a, t->snap_switch_name);
        explained = TRUE;
        s->skip_steps = skip + 1;
        s->n_trial = 0;
        s->trial[s->n_trial++] = old_best;
        s->test_epoch_count = old_e;
        a->decision = DN_TRACKER_RESTART_LR;
        a->restructured = TRUE;
        dn_tracker_fmt_score (t, old_best, now, sizeof now);
        dn_tracker_set_message (
            a,
            "learning-rate sweep for dendrite set %d: starting %d step%s lower reached %s "
            "by epoch %d; restoring epoch %d to start %d step%s lower",
            k, skip, plural (skip), now, end + 1, b + 1, skip + 1, plural (skip + 1));
    } else if (s->n_trial == 1) {
        explained = TRUE;
        s->trial[s->n_trial++] = s->current_best;
        double s0 = s->trial[0], s1 = s->trial[1];
        gboolean worse = t->run.maximizing_score ? s0 > s1 : s0 < s1;
        int skip = s->skip_steps;
        dn_tracker_fmt_score (t, s1, now, sizeof now);
        dn_tracker_fmt_score (t, s0, before, sizeof before);
        if (worse) {
            /* starting lower was worse: go back to the previous trial's end */
            gboolean reload = t->run.test_saves && t->snap_sweep != NULL;
            DnTrackerOp *g = dn_tracker_add_op (a, DN_TRACKER_OP_SAVE_GRAPHS,
                                                "_PBCount_%d_startSteps_%d", k, skip);
            g->timestamped = TRUE;
            g->before_restore = reload;
            if (t->run.test_saves)
                dn_tracker_add_op (a, DN_TRACKER_OP_SAVE, "PBCount_%d_startSteps_%d", k, skip);
            if (reload) {
                dn_tracker_restore_snapshot (t, t->snap_sweep, DN_TRACKER_ROLLBACK_SWEEP);
                dn_tracker_op_restore (t, a, t->snap_sweep_name);
            }
            int picked = s->skip_steps;
            g = dn_tracker_add_op (a, DN_TRACKER_OP_SAVE_GRAPHS, "_PBCount_%d_startSteps_%dPICKED",
                                   k, picked);
            g->timestamped = TRUE;
            if (t->run.test_saves)
                dn_tracker_add_op (a, DN_TRACKER_OP_SAVE, "PBCount_%d_startSteps_%d", k, picked);
            s->committed = TRUE;
            s->last_max_steps = s->step_count;
            s->last_max_lr = lr2;
            s->current_best = s0;
            s->has_current_best = TRUE;
            a->decision = DN_TRACKER_RESTART_LR;
            a->restructured = TRUE;
            dn_tracker_set_message (
                a,
                "learning-rate sweep for dendrite set %d: starting %d step%s lower "
                "reached %s, worse than %s; going back to epoch %d and keeping the start "
                "%d step%s lower",
                k, skip, plural (skip), now, before, s->num_epochs_run + 1, picked,
                plural (picked));
        } else if (at_last) {
            DnTrackerOp *g = dn_tracker_add_op (a, DN_TRACKER_OP_SAVE_GRAPHS,
                                                "_PBCount_%d_startSteps_%dPICKED", k, skip);
            g->timestamped = TRUE;
            if (t->run.test_saves)
                dn_tracker_add_op (a, DN_TRACKER_OP_SAVE, "PBCount_%d_startSteps_%d", k, skip);
            s->committed = TRUE;
            s->last_max_steps = s->step_count;
            s->last_max_lr = lr2;
            a->decision = DN_TRACKER_RESTART_LR;
            a->restructured = TRUE;
            dn_tracker_set_message (
                a,
                "learning-rate sweep for dendrite set %d: starting %d step%s lower "
                "reached %s, at least as good as %s; keeping it (epoch %d)",
                k, skip, plural (skip), now, before, s->num_epochs_run + 1);
        } else {
            dn_tracker_set_message (
                a,
                "learning-rate sweep for dendrite set %d: starting %d step%s lower "
                "reached %s, at least as good as %s; trying lower (epoch %d)",
                k, skip, plural (skip), now, before, s->num_epochs_run + 1);
        }
        s->n_trial = 0;
    }
    s->global_best = keep;
    s->has_global_best = keep_has;
    s->global_best_epoch = keep_epoch;
    return explained;
}
