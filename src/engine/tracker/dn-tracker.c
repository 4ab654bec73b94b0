/* dn-tracker.c: the tracker's state machine (spec perforated-dendrites.md §6).
 *
 * dn_tracker_add_score follows the reference's add_validation_score step by
 * step (§6.4): record the epoch, update the running score, run the new-best
 * check, then either switch (add a set, retry, or finish) or step the
 * scheduler and run the LR sweep; finally start the next epoch and, after a
 * restructure, rebuild and fast-forward the scheduler (§7).
 *
 * Where the reference loads a checkpoint (which also loads the tracker
 * state saved in it), we copy back the snapshot taken when that checkpoint
 * was asked for, then apply what load_system does after a load: no cycle
 * best, epoch_last_improved := the restored epoch.
 */
#include "dn-tracker-private.h"

#include "dn-error.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>

/* ---- state ---- */

void dn_tracker_state_init (DnTrackerState *s)
{
    memset (s, 0, sizeof *s);
    s->rows = g_array_new (FALSE, TRUE, sizeof (DnTrackerEpoch));
    s->switches = g_array_new (FALSE, TRUE, sizeof (DnTrackerSwitch));
    s->cycle_set_global_best = TRUE; /* the first cycle always counts as improved */
    s->committed = TRUE;
    s->test_epoch_count = -1;
    s->last_max_lr = -1;
}

void dn_tracker_state_clear (DnTrackerState *s)
{
    if (s->rows != NULL)
        g_array_unref (s->rows);
    if (s->switches != NULL)
        g_array_unref (s->switches);
    s->rows = NULL;
    s->switches = NULL;
}

DnTrackerState *dn_tracker_state_dup (const DnTrackerState *s)
{
    DnTrackerState *d = g_new (DnTrackerState, 1);
    *d = *s;
    d->rows = g_array_copy (s->rows);
    d->switches = g_array_copy (s->switches);
    return d;
}

void dn_tracker_state_free (DnTrackerState *s)
{
    if (s == NULL)
        return;
    dn_tracker_state_clear (s);
    g_free (s);
}

void dn_tracker_rollback_rec_clear (DnTrackerRollbackRec *r)
{
    if (r->rows != NULL)
        g_array_unref (r->rows);
    r->rows = NULL;
}

void dn_tracker_event_rec_clear (DnTrackerEventRec *e)
{
    g_clear_pointer (&e->message, g_free);
}

static void rollback_clear_func (gpointer p)
{
    dn_tracker_rollback_rec_clear (p);
}

static void event_clear_func (gpointer p)
{
    dn_tracker_event_rec_clear (p);
}

gboolean dn_tracker_has_scheduler (const DnTracker *t)
{
    return t->sched.kind != DN_SCHED_NONE;
}

DnTracker *dn_tracker_alloc (const DnTrackerConfig *cfg, const DnSchedConfig *sched, double base_lr)
{
    DnTracker *t = g_new0 (DnTracker, 1);
    t->cfg = *cfg;
    t->run = *cfg;
    if (cfg->testing_dendrite_capacity) {
        /* §6.9: a dendrite set at every epoch, none rejected, no limits. */
        t->run.switch_mode = DN_TRACKER_SWITCH_EVERY_EPOCH;
        t->run.retain_all_dendrites = TRUE;
        dn_tracker_list_set (&t->run.max_dendrite_tries, 1000);
        dn_tracker_list_set (&t->run.max_dendrites, 1000);
    }
    if (sched != NULL && sched->kind != DN_SCHED_NONE) {
        t->sched = *sched;
        t->sched.mode_max = cfg->maximizing_score; /* §7: the direction follows the score */
    } else {
        dn_sched_config_defaults (&t->sched, DN_SCHED_NONE);
    }
    t->base_lr = base_lr;
    t->scheduler = dn_scheduler_new (&t->sched, base_lr);
    t->score_unit = g_strdup ("");
    for (int i = 0; i < DN_TRACKER_MAX_CORR; i++)
        t->pending_corr[i] = NAN;
    dn_tracker_state_init (&t->st);
    t->st.running = 100.0 / cfg->num_classes;
    t->rollbacks = g_array_new (FALSE, TRUE, sizeof (DnTrackerRollbackRec));
    g_array_set_clear_func (t->rollbacks, rollback_clear_func);
    t->events = g_array_new (FALSE, TRUE, sizeof (DnTrackerEventRec));
    g_array_set_clear_func (t->events, event_clear_func);
    return t;
}

DnTracker *dn_tracker_new (const DnTrackerConfig *cfg, const DnSchedConfig *sched, double base_lr,
                           GError **error)
{
    g_return_val_if_fail (cfg != NULL, NULL);
    g_return_val_if_fail (error == NULL || *error == NULL, NULL);
    if (!dn_tracker_config_validate (cfg, error))
        return NULL;
    if (!isfinite (base_lr) || base_lr < 0) {
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                     "optimizer \"lr\" must be a number >= 0 for the tracker's schedule, got %g",
                     base_lr);
        return NULL;
    }
    DnTracker *t = dn_tracker_alloc (cfg, sched, base_lr);
    if (t->scheduler == NULL) {
        dn_tracker_free (t);
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                     "scheduler settings are out of range; read them with "
                     "dn_sched_config_from_json or start from dn_sched_config_defaults");
        return NULL;
    }
    return t;
}

DnTracker *dn_tracker_new_recorder (void)
{
    DnTrackerConfig cfg;
    dn_tracker_config_defaults (&cfg);
    cfg.switch_mode = DN_TRACKER_SWITCH_NEVER;
    cfg.find_best_lr = FALSE;
    cfg.test_saves = FALSE;
    DnTracker *t = dn_tracker_alloc (&cfg, NULL, 0.0);
    t->recorder = TRUE;
    return t;
}

gboolean dn_tracker_is_recorder (const DnTracker *t)
{
    g_return_val_if_fail (t != NULL, FALSE);
    return t->recorder;
}

void dn_tracker_free (DnTracker *t)
{
    if (t == NULL)
        return;
    dn_scheduler_free (t->scheduler);
    for (int i = 0; i < t->n_extra; i++)
        g_free (t->extra_names[i]);
    for (int i = 0; i < t->n_corr; i++)
        g_free (t->corr_names[i]);
    g_free (t->score_unit);
    dn_tracker_cand_clear (t);
    dn_tracker_state_clear (&t->st);
    dn_tracker_state_free (t->snap_best);
    dn_tracker_state_free (t->snap_switch);
    dn_tracker_state_free (t->snap_sweep);
    g_array_unref (t->rollbacks);
    g_array_unref (t->events);
    g_free (t);
}

static DnTrackerState *state_dup_or_null (const DnTrackerState *s)
{
    return s != NULL ? dn_tracker_state_dup (s) : NULL;
}

DnTracker *dn_tracker_copy (const DnTracker *t)
{
    g_return_val_if_fail (t != NULL, NULL);
    DnTracker *c = g_new (DnTracker, 1);
    *c = *t; /* settings, counters and the fixed-size arrays; the pointers follow */
    c->scheduler = dn_scheduler_copy (t->scheduler);
    for (int i = 0; i < t->n_extra; i++)
        c->extra_names[i] = g_strdup (t->extra_names[i]);
    for (int i = 0; i < t->n_corr; i++)
        c->corr_names[i] = g_strdup (t->corr_names[i]);
    c->score_unit = g_strdup (t->score_unit);
    dn_tracker_cand_copy (c, t);
    DnTrackerState *st = dn_tracker_state_dup (&t->st);
    c->st = *st;
    g_free (st);
    c->snap_best = state_dup_or_null (t->snap_best);
    c->snap_switch = state_dup_or_null (t->snap_switch);
    c->snap_sweep = state_dup_or_null (t->snap_sweep);
    c->rollbacks =
        g_array_sized_new (FALSE, TRUE, sizeof (DnTrackerRollbackRec), t->rollbacks->len);
    g_array_set_clear_func (c->rollbacks, rollback_clear_func);
    for (guint i = 0; i < t->rollbacks->len; i++) {
        DnTrackerRollbackRec r = g_array_index (t->rollbacks, DnTrackerRollbackRec, i);
        r.rows = g_array_copy (r.rows);
        g_array_append_val (c->rollbacks, r);
    }
    c->events = g_array_sized_new (FALSE, TRUE, sizeof (DnTrackerEventRec), t->events->len);
    g_array_set_clear_func (c->events, event_clear_func);
    for (guint i = 0; i < t->events->len; i++) {
        DnTrackerEventRec e = g_array_index (t->events, DnTrackerEventRec, i);
        e.message = g_strdup (e.message);
        g_array_append_val (c->events, e);
    }
    return c;
}

gboolean dn_tracker_set_extra_names (DnTracker *t, const char *const *names, int n, GError **error)
{
    g_return_val_if_fail (t != NULL && (n == 0 || names != NULL), FALSE);
    if (t->total_epochs > 0) {
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                     "extra score names must be set before the first epoch is recorded");
        return FALSE;
    }
    if (n < 0 || n > DN_TRACKER_MAX_EXTRA) {
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                     "the tracker records at most %d extra score series, got %d; drop some",
                     DN_TRACKER_MAX_EXTRA, n);
        return FALSE;
    }
    for (int i = 0; i < n; i++) {
        if (names[i] == NULL || names[i][0] == '\0') {
            g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                         "extra score series %d has no name; give every series a name", i);
            return FALSE;
        }
    }
    for (int i = 0; i < t->n_extra; i++)
        g_clear_pointer (&t->extra_names[i], g_free);
    for (int i = 0; i < n; i++)
        t->extra_names[i] = g_strdup (names[i]);
    t->n_extra = n;
    return TRUE;
}

void dn_tracker_set_score_unit (DnTracker *t, const char *unit)
{
    g_return_if_fail (t != NULL);
    g_free (t->score_unit);
    t->score_unit = g_strdup (unit != NULL ? unit : "");
}

double dn_tracker_lr (const DnTracker *t)
{
    g_return_val_if_fail (t != NULL, 0.0);
    return dn_scheduler_lr (t->scheduler);
}

/* ---- small helpers ---- */

static int cfg_int (const DnTrackerList *l, int dendrites)
{
    return (int) dn_tracker_list_at (l, dendrites);
}

/* §6.3: both the relative and the absolute margin, for the current count. */
static gboolean beats (const DnTracker *t, double a, double b)
{
    int k = t->st.dendrites;
    double thr = dn_tracker_list_at (&t->run.improvement_threshold, k);
    double raw = dn_tracker_list_at (&t->run.improvement_threshold_raw, k);
    if (t->run.maximizing_score)
        return a * (1.0 - thr) > b && a - raw > b;
    return a * (1.0 + thr) < b && a + raw < b;
}

void dn_tracker_fmt_score (const DnTracker *t, double v, char *buf, size_t n)
{
    char num[G_ASCII_DTOSTR_BUF_SIZE];
    g_ascii_formatd (num, sizeof num, "%.4g", v);
    if (t->score_unit[0] != '\0')
        g_snprintf (buf, n, "%s %s", num, t->score_unit);
    else
        g_snprintf (buf, n, "%s", num);
}

static const char *plural (int n)
{
    return n == 1 ? "" : "s";
}

DnTrackerOp *dn_tracker_add_op (DnTrackerAction *a, DnTrackerOpKind kind, const char *fmt, ...)
{
    g_assert (a->n_ops < DN_TRACKER_MAX_OPS);
    DnTrackerOp *op = &a->ops[a->n_ops++];
    memset (op, 0, sizeof *op);
    op->kind = kind;
    op->epoch = -1;
    va_list ap;
    va_start (ap, fmt);
    g_vsnprintf (op->name, sizeof op->name, fmt, ap);
    va_end (ap);
    return op;
}

void dn_tracker_set_message (DnTrackerAction *a, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    g_vsnprintf (a->message, sizeof a->message, fmt, ap);
    va_end (ap);
}

void dn_tracker_snapshot (DnTrackerState **slot, const DnTrackerState *s)
{
    dn_tracker_state_free (*slot);
    *slot = dn_tracker_state_dup (s);
}

/* ---- rollback ---- */

/* Replaces the state with a copy of `snap` (as loading that checkpoint does)
 * and keeps the discarded rows. Rows are the same epoch when they have the
 * same total_epoch; the first row that differs starts the discarded part. */
int dn_tracker_restore_snapshot (DnTracker *t, const DnTrackerState *snap,
                                 DnTrackerRollbackKind kind)
{
    DnTrackerState old = t->st;
    DnTrackerState *copy = dn_tracker_state_dup (snap);
    t->st = *copy;
    g_free (copy);
    DnTrackerState *s = &t->st;
    s->current_best = 0.0;
    s->has_current_best = FALSE;
    s->epoch_last_improved = s->num_epochs_run;

    guint d = 0;
    while (d < old.rows->len && d < s->rows->len &&
           g_array_index (old.rows, DnTrackerEpoch, d).total_epoch ==
               g_array_index (s->rows, DnTrackerEpoch, d).total_epoch)
        d++;
    if (d < old.rows->len) {
        if (!t->run.save_old_graph_scores)
            g_array_set_size (t->rollbacks, 0);
        DnTrackerRollbackRec r = {
            .kind = kind,
            .from_epoch = (int) old.rows->len - 1,
            .to_epoch = s->num_epochs_run,
            .first_epoch = (int) d,
            .total_epoch = t->total_epochs,
            .rows = g_array_sized_new (FALSE, FALSE, sizeof (DnTrackerEpoch), old.rows->len - d),
        };
        g_array_append_vals (r.rows, &g_array_index (old.rows, DnTrackerEpoch, d),
                             old.rows->len - d);
        g_array_append_val (t->rollbacks, r);
    }
    dn_tracker_state_clear (&old);
    return s->num_epochs_run;
}

void dn_tracker_op_restore (DnTracker *t, DnTrackerAction *a, const char *name)
{
    DnTrackerOp *op = dn_tracker_add_op (a, DN_TRACKER_OP_RESTORE, "%s", name);
    op->epoch = t->st.num_epochs_run;
    op->dendrites = t->st.dendrites;
    a->restored_epoch = op->epoch;
}

void dn_tracker_neuron_mode_again (DnTracker *t, DnTrackerAction *a)
{
    DnTrackerState *s = &t->st;
    s->mode = DN_TRACKER_MODE_NEURON;
    s->dendrites++;
    s->committed = !t->run.find_best_lr;
    s->cycle_set_global_best = FALSE;
    s->current_best = 0.0;
    s->has_current_best = FALSE;
    s->test_epoch_count = -1;
    s->num_cycles++;
    if (t->run.retain_all_dendrites) {
        /* newest era: a kept set counts as improved, and the next cycle sets a new best */
        s->cycle_set_global_best = TRUE;
        s->has_global_best = FALSE;
        s->global_best = 0.0;
    }
    if (t->run.reset_best_score_on_switch)
        s->running = 0.0;
    /* the new set's switch: its blue line is here (PB: the phase's end) */
    DnTrackerSwitch *last = &g_array_index (s->switches, DnTrackerSwitch, s->switches->len - 1);
    last->end_epoch = s->num_epochs_run;
    DnTrackerOp *op =
        dn_tracker_add_op (a,
                           t->run.perforated_backpropagation ? DN_TRACKER_OP_END_DENDRITE_PHASE
                                                             : DN_TRACKER_OP_ADD_DENDRITES,
                           "dendrite set %d", s->dendrites);
    op->dendrites = s->dendrites;
    if (t->run.retain_all_dendrites) {
        /* reference era: best_model now holds the grown model, so it is kept */
        dn_tracker_add_op (a, DN_TRACKER_OP_SAVE, "best_model");
        dn_tracker_snapshot (&t->snap_best, s);
    }
}

/* §6.6: roll back to best_model, then go to dendrite mode: the open-source GD
 * version comes straight back, adding one fresh set; Perforated
 * Backpropagation starts a dendrite phase. Returns the restored row. */
static int switch_from_best (DnTracker *t, DnTrackerAction *a, DnTrackerSwitchKind kind,
                             int try_index)
{
    /* epochs the neuron phase trained, for cap_at_n */
    const DnTrackerState *before = &t->st;
    int neuron_epochs =
        before->num_epochs_run - before->last_switch + (before->switches->len == 0 ? 1 : 0);
    int b = dn_tracker_restore_snapshot (
        t, t->snap_best,
        kind == DN_TRACKER_SWITCH_RETRY ? DN_TRACKER_ROLLBACK_RETRY : DN_TRACKER_ROLLBACK_SWITCH);
    dn_tracker_op_restore (t, a, "best_model");
    DnTrackerState *s = &t->st;
    /* to dendrite mode */
    s->skip_steps = 0;
    s->last_max_steps = s->step_count;
    s->n_trial = 0;
    s->num_cycles++;
    s->last_switch = b;
    DnTrackerSwitch sw = {.epoch = b,
                          .end_epoch = -1,
                          .dendrites = s->dendrites + 1,
                          .try_index = try_index,
                          .params = -1,
                          .kind = kind};
    g_array_append_val (s->switches, sw);
    if (t->run.perforated_backpropagation) {
        dn_tracker_pb_start_phase (t, a, b, neuron_epochs);
        return b;
    }
    /* and back to neuron mode */
    dn_tracker_neuron_mode_again (t, a);
    return b;
}

/* ---- when to switch (§6.5) ---- */

gboolean dn_tracker_sweep_blocking (const DnTracker *t)
{
    const DnTrackerState *s = &t->st;
    /* 3.2.9 blocks the history and fixed modes alike, and while S <= Cmax */
    return (t->run.switch_mode == DN_TRACKER_SWITCH_HISTORY ||
            t->run.switch_mode == DN_TRACKER_SWITCH_FIXED) &&
           !s->committed && t->run.dont_give_up_unless_learning_rate_lowered &&
           s->skip_steps <= s->last_max_steps && dn_tracker_has_scheduler (t);
}

static gboolean switch_time (const DnTracker *t)
{
    const DnTrackerState *s = &t->st;
    int k = s->dendrites;
    switch (t->run.switch_mode) {
    case DN_TRACKER_SWITCH_NEVER:
        return FALSE;
    case DN_TRACKER_SWITCH_EVERY_EPOCH:
        return TRUE;
    case DN_TRACKER_SWITCH_HISTORY: {
        if (dn_tracker_sweep_blocking (t))
            return FALSE;
        int n = cfg_int (&t->run.n_epochs_to_switch, k);
        int h = cfg_int (&t->run.initial_history_after_switches, k);
        int this_count = s->num_epochs_run - s->last_switch;
        return s->num_epochs_run - s->epoch_last_improved >= n && this_count >= h + n;
    }
    case DN_TRACKER_SWITCH_FIXED: {
        if (dn_tracker_sweep_blocking (t))
            return FALSE;
        /* 3.2.9; total_epochs is this epoch's total_epochs_run */
        int period = cfg_int (&t->run.fixed_switch_num, k);
        int first = cfg_int (&t->run.first_fixed_switch_num, k);
        return t->total_epochs % period == period - 1 && s->num_epochs_run >= first - 1;
    }
    }
    return FALSE;
}

static void switch_reason (const DnTracker *t, gboolean forced, char *buf, size_t n)
{
    const DnTrackerState *s = &t->st;
    int shown = s->num_epochs_run + 1;
    if (forced) {
        g_snprintf (buf, n, "switch requested at epoch %d", shown);
        return;
    }
    switch (t->run.switch_mode) {
    case DN_TRACKER_SWITCH_HISTORY: {
        int since = s->num_epochs_run - s->epoch_last_improved;
        g_snprintf (buf, n, "no improvement for %d epoch%s", since, plural (since));
        break;
    }
    case DN_TRACKER_SWITCH_FIXED:
        g_snprintf (buf, n, "fixed switch at epoch %d", shown);
        break;
    case DN_TRACKER_SWITCH_EVERY_EPOCH:
    case DN_TRACKER_SWITCH_NEVER:
        g_snprintf (buf, n, "switching at every epoch (epoch %d)", shown);
        break;
    }
}

static void finish (DnTracker *t, DnTrackerAction *a, DnTrackerDoneReason done)
{
    a->decision = DN_TRACKER_COMPLETE;
    a->done = done;
    a->complete = TRUE;
    t->complete = TRUE;
}

/* Rolls back to best_model for good (§6.7 finish, §6.8). */
static int restore_final (DnTracker *t, DnTrackerAction *a)
{
    int b = dn_tracker_restore_snapshot (t, t->snap_best, DN_TRACKER_ROLLBACK_FINAL);
    dn_tracker_op_restore (t, a, "best_model");
    dn_tracker_add_op (a, DN_TRACKER_OP_SAVE_CLEAN, "final_clean_pai");
    a->restructured = TRUE;
    return b;
}

/* §6.4 step 9: the switch fired. */
static void decide_switch (DnTracker *t, DnTrackerAction *a, gboolean forced)
{
    DnTrackerState *s = &t->st;
    int k = s->dendrites;
    char reason[160], best[64];
    switch_reason (t, forced, reason, sizeof reason);
    dn_tracker_fmt_score (t, s->global_best, best, sizeof best);

    if (k > 2 && t->run.testing_dendrite_capacity) {
        /* §6.9: the dry run ends here, without a rollback and without stopping */
        finish (t, a, DN_TRACKER_DONE_CAPACITY_TEST);
        dn_tracker_set_message (
            a,
            "capacity test: %d dendrite sets were added by epoch %d and no problems were "
            "detected; training complete (dry run, the model keeps all %d sets)",
            k, s->num_epochs_run + 1, k);
        return;
    }

    if (!s->cycle_set_global_best) {
        /* §6.7: this set never beat the best of the previous architecture */
        DnTrackerOp *g =
            dn_tracker_add_op (a, DN_TRACKER_OP_SAVE_GRAPHS, "_noImprove_lr_%d", s->skip_steps);
        g->timestamped = TRUE;
        g->before_restore = TRUE;
        /* 3.2.9 counts attempts: max_dendrite_tries 2 allows one retry */
        int max_tries = cfg_int (&t->run.max_dendrite_tries, k);
        if (s->tries < max_tries - 1) {
            int old_tries = s->tries;
            int b = switch_from_best (t, a, DN_TRACKER_SWITCH_RETRY, old_tries + 1);
            t->st.tries = old_tries + 1; /* the restored state had the older count */
            a->decision = DN_TRACKER_RETRY;
            a->restructured = TRUE;
            dn_tracker_set_message (
                a, "dendrite set %d did not beat %s: attempt %d of %d with %s, restoring epoch %d",
                k, best, old_tries + 2, max_tries,
                t->run.perforated_backpropagation ? "a fresh dendrite phase" : "fresh dendrites",
                b + 1);
        } else {
            int b = restore_final (t, a);
            int kept = t->st.dendrites;
            finish (t, a, DN_TRACKER_DONE_NO_IMPROVEMENT);
            dn_tracker_set_message (
                a,
                "dendrite set %d did not beat %s and no attempts are left (%d allowed): "
                "restoring epoch %d; training complete: best architecture has %d "
                "dendrite set%s",
                k, best, max_tries, b + 1, kept, plural (kept));
        }
        return;
    }

    int max_dendrites = cfg_int (&t->run.max_dendrites, k);
    if (k == max_dendrites || !t->run.doing_pai) {
        /* §6.8, and a run without dendrites: early stopping */
        DnTrackerOp *g = dn_tracker_add_op (a, DN_TRACKER_OP_SAVE_GRAPHS, "before_final");
        g->before_restore = TRUE;
        int b = restore_final (t, a);
        int kept = t->st.dendrites;
        char final_best[64];
        dn_tracker_fmt_score (t, t->st.global_best, final_best, sizeof final_best);
        if (!t->run.doing_pai) {
            finish (t, a, DN_TRACKER_DONE_EARLY_STOPPING);
            dn_tracker_set_message (
                a,
                "%s: restoring epoch %d (best %s); training complete: early stopping, "
                "no dendrites",
                reason, b + 1, final_best);
        } else {
            finish (t, a, DN_TRACKER_DONE_MAX_DENDRITES);
            dn_tracker_set_message (
                a,
                "%s and max_dendrites (%d) is reached: restoring epoch %d; training "
                "complete: best architecture has %d dendrite set%s",
                reason, max_dendrites, b + 1, kept, plural (kept));
        }
        return;
    }

    /* a new dendrite set */
    int n = 2 * (int) s->switches->len;
    DnTrackerOp *g = dn_tracker_add_op (a, DN_TRACKER_OP_SAVE_GRAPHS, "_beforeSwitch_%d", n);
    g->before_restore = TRUE;
    if (t->run.test_saves) {
        dn_tracker_add_op (a, DN_TRACKER_OP_SAVE, "beforeSwitch_%d", n);
        DnTrackerOp *c = dn_tracker_add_op (a, DN_TRACKER_OP_COPY, "best_model_beforeSwitch_%d", n);
        g_strlcpy (c->from, "best_model", sizeof c->from);
    }
    /* As 3.2.9: the count goes to 0 before best_model is loaded, and the load
     * brings back the count saved with it (a set kept after a retry leaves
     * the next count fewer attempts). */
    t->st.tries = 0;
    int b = switch_from_best (t, a, DN_TRACKER_SWITCH_ADD, 0);
    a->decision = DN_TRACKER_ADD_DENDRITES;
    a->restructured = TRUE;
    if (t->run.perforated_backpropagation)
        dn_tracker_set_message (a,
                                "%s: restoring epoch %d and starting a dendrite phase for "
                                "dendrite set %d",
                                reason, b + 1, t->st.dendrites + 1);
    else
        dn_tracker_set_message (a, "%s: restoring epoch %d and adding dendrite set %d", reason,
                                b + 1, t->st.dendrites);
}

/* ---- the main call ---- */

/* A neuron-mode epoch (§6.3 new-best check, §6.4 step 9): appends the row and
 * decides. TRUE when a learning-rate sweep step explained the epoch. */
static gboolean judge_neuron_epoch (DnTracker *t, const DnTrackerScores *in, DnTrackerAction *a,
                                    const DnTrackerEpoch *recorded, int e, int h)
{
    DnTrackerState *s = &t->st;
    DnTrackerEpoch row = *recorded;
    int epoch = row.epoch;
    gboolean explained = FALSE;
    /* §6.3: the new-best check */
    gboolean enough_time = e > h || t->run.switch_mode == DN_TRACKER_SWITCH_EVERY_EPOCH;
    gboolean save_best = FALSE;
    if ((!s->has_current_best || beats (t, s->running, s->current_best)) && enough_time) {
        s->current_best = s->running;
        s->has_current_best = TRUE;
        s->epoch_last_improved = epoch;
        row.new_best = TRUE;
        if (!s->has_global_best || beats (t, s->current_best, s->global_best)) {
            s->global_best = s->current_best;
            s->has_global_best = TRUE;
            s->global_best_epoch = epoch;
            s->cycle_set_global_best = TRUE;
            row.new_global_best = TRUE;
            a->new_best = TRUE;
            save_best = TRUE;
        }
    } else if (s->rows->len == 0) {
        save_best = TRUE; /* the first epoch is always kept as a fallback */
    }
    row.last_improved = s->epoch_last_improved;
    g_array_append_val (s->rows, row);
    if (save_best) {
        dn_tracker_add_op (a, DN_TRACKER_OP_SAVE, "best_model");
        dn_tracker_snapshot (&t->snap_best, s);
    }
    if (a->new_best) {
        char best[64];
        dn_tracker_fmt_score (t, s->global_best, best, sizeof best);
        dn_tracker_set_message (a, "new best %s at epoch %d", best, epoch + 1);
    }

    /* §6.4 step 9 */
    if (in->force_switch || switch_time (t)) {
        a->message[0] = '\0';
        decide_switch (t, a, in->force_switch);
        if (a->restructured && !a->complete && t->st.mode == DN_TRACKER_MODE_NEURON) {
            DnTrackerOp *op = dn_tracker_add_op (a, DN_TRACKER_OP_SAVE, "switch_%d",
                                                 2 * (int) t->st.switches->len);
            dn_tracker_snapshot (&t->snap_switch, &t->st);
            g_strlcpy (t->snap_switch_name, op->name, sizeof t->snap_switch_name);
        }
    } else if (dn_tracker_has_scheduler (t)) {
        explained = dn_tracker_scheduler_and_sweep (t, a, e, in->val);
    }
    return explained;
}

static void log_event (DnTracker *t, const DnTrackerAction *a)
{
    DnTrackerEventRec ev = {
        .epoch = a->epoch,
        .total_epoch = t->total_epochs - 1,
        .decision = a->decision,
        .done = a->done,
        .dendrites = a->dendrites,
        .message = g_strdup (a->message),
    };
    g_array_append_val (t->events, ev);
}

gboolean dn_tracker_add_score (DnTracker *t, const DnTrackerScores *in, DnTrackerAction *a,
                               GError **error)
{
    g_return_val_if_fail (t != NULL && in != NULL && a != NULL, FALSE);
    g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
    DnTrackerState *s = &t->st;
    if (t->complete) {
        g_set_error (error, DN_ERROR, DN_ERROR_UNSUPPORTED,
                     "the tracker completed training after %d epochs; start a new run to train "
                     "further",
                     t->total_epochs);
        return FALSE;
    }
    if (!isfinite (in->val)) {
        g_set_error (error, DN_ERROR, DN_ERROR_NUMERIC,
                     "validation score of epoch %d is %g; training diverged (lower the learning "
                     "rate) or the validation split is empty",
                     s->num_epochs_run + 1, in->val);
        return FALSE;
    }
    if (t->recorder && !isfinite (in->lr)) {
        g_set_error (error, DN_ERROR, DN_ERROR_NUMERIC,
                     "the learning rate of epoch %d is %g; a recorder keeps the rate the run "
                     "trained with",
                     s->num_epochs_run + 1, in->lr);
        return FALSE;
    }
    if (in->n_extra != t->n_extra || (in->n_extra > 0 && in->extra == NULL)) {
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                     "epoch %d has %d extra scores but %d series were named; pass one value per "
                     "name given to dn_tracker_set_extra_names",
                     s->num_epochs_run + 1, in->n_extra, t->n_extra);
        return FALSE;
    }
    gboolean dendrite_epoch = s->mode == DN_TRACKER_MODE_DENDRITE && !t->recorder;
    if (dendrite_epoch && !dn_tracker_pb_check_pending (t, error))
        return FALSE;

    memset (a, 0, sizeof *a);
    a->restored_epoch = -1;
    int epoch = s->num_epochs_run, k = s->dendrites;
    int e = epoch - s->last_switch; /* epochs_since_cycle_switch */
    int h = cfg_int (&t->run.initial_history_after_switches, k);
    int lookback = cfg_int (&t->run.history_lookback, k);
    a->epoch = epoch;

    /* §6.4 steps 1-2: the rate of this epoch; parameter counts */
    double lr = t->recorder ? in->lr : dn_scheduler_lr (t->scheduler);
    if (!s->has_params) {
        s->initial_params = in->params;
        s->has_params = TRUE;
    }
    for (guint i = 0; i < s->switches->len; i++) {
        DnTrackerSwitch *sw = &g_array_index (s->switches, DnTrackerSwitch, i);
        if (sw->params < 0 && sw->end_epoch >= 0)
            sw->params = in->params;
    }

    /* §6.3: the running score; a dendrite phase leaves it as it is */
    if (!dendrite_epoch) {
        if (e >= h)
            s->running = s->running * (1.0 - 1.0 / lookback) + in->val * (1.0 / lookback);
        else if (e == 0)
            s->running = in->val;
        else
            s->running = s->running * (1.0 - 1.0 / (e + 1)) + in->val * (1.0 / (e + 1));
    }
    DnTrackerEpoch row = {
        .epoch = epoch,
        .total_epoch = t->total_epochs,
        .cycle_epoch = e,
        .dendrites = k,
        .mode = dendrite_epoch ? DN_TRACKER_MODE_DENDRITE : DN_TRACKER_MODE_NEURON,
        .val = in->val,
        .running = s->running,
        .test = in->test,
        .seconds = in->seconds,
        .lr = lr,
        .params = in->params,
    };
    for (int i = 0; i < t->n_extra; i++)
        row.extra[i] = in->extra[i];
    for (int i = t->n_extra; i < DN_TRACKER_MAX_EXTRA; i++)
        row.extra[i] = NAN;
    for (int i = 0; i < DN_TRACKER_MAX_CORR; i++) {
        row.correlation[i] = i < t->n_corr ? t->pending_corr[i] : NAN;
        t->pending_corr[i] = NAN;
    }
    dn_tracker_pb_record (t, &row, dendrite_epoch);

    gboolean explained;
    if (dendrite_epoch) {
        /* the validation score is recorded, but judges nothing until the phase ends */
        row.last_improved = s->epoch_last_improved;
        g_array_append_val (s->rows, row);
        explained = dn_tracker_pb_maybe_end_phase (t, a, in->force_switch);
    } else {
        explained = judge_neuron_epoch (t, in, a, &row, e, h);
    }

    /* §6.4 steps 10-11: the next epoch starts */
    s = &t->st;
    s->num_epochs_run++;
    t->total_epochs++;
    if (a->restructured && !a->complete) {
        s->epoch_last_improved = s->num_epochs_run;
        dn_tracker_rebuild_scheduler (t);
        a->rebuild_optimizer = TRUE;
    }
    if (t->run.test_saves)
        dn_tracker_add_op (a, DN_TRACKER_OP_SAVE, "latest");
    if (t->recorder)
        a->n_ops = 0; /* the caller keeps its own best model */
    a->lr = dn_scheduler_lr (t->scheduler);
    a->dendrites = s->dendrites;
    if (a->decision != DN_TRACKER_CONTINUE || explained)
        log_event (t, a);
    return TRUE;
}
