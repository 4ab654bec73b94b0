/* dn-tracker-history.c: what the tracker tells charts, CSV files and the
 * progress line (spec §10.2, §10.3; user-expectations §2 item 2): the
 * history rows, switches, rolled-back rows, markers, the best score of each
 * architecture, events and the status line. Read-only views of the state.
 */
#include "dn-tracker-private.h"

#include <math.h>

const DnTrackerEpoch *dn_tracker_epochs (const DnTracker *t, int *n)
{
    g_return_val_if_fail (t != NULL && n != NULL, NULL);
    *n = (int) t->st.rows->len;
    return (const DnTrackerEpoch *) (gpointer) t->st.rows->data;
}

int dn_tracker_n_extra (const DnTracker *t)
{
    g_return_val_if_fail (t != NULL, 0);
    return t->n_extra;
}

const char *dn_tracker_extra_name (const DnTracker *t, int i)
{
    g_return_val_if_fail (t != NULL, NULL);
    if (i < 0 || i >= t->n_extra)
        return NULL;
    return t->extra_names[i];
}

const DnTrackerSwitch *dn_tracker_switches (const DnTracker *t, int *n)
{
    g_return_val_if_fail (t != NULL && n != NULL, NULL);
    *n = (int) t->st.switches->len;
    return (const DnTrackerSwitch *) (gpointer) t->st.switches->data;
}

int *dn_tracker_compat_switch_epochs (const DnTracker *t, int *n)
{
    g_return_val_if_fail (t != NULL && n != NULL, NULL);
    int ns = (int) t->st.switches->len;
    int *out = g_new (int, 2 * ns + 1);
    *n = 0;
    for (int i = 0; i < ns; i++) {
        const DnTrackerSwitch *sw = &g_array_index (t->st.switches, DnTrackerSwitch, i);
        out[(*n)++] = sw->epoch; /* to dendrite training: red */
        if (sw->end_epoch >= 0)
            out[(*n)++] = sw->end_epoch; /* back to neuron training: blue */
    }
    return out;
}

int64_t *dn_tracker_compat_param_counts (const DnTracker *t, int *n)
{
    g_return_val_if_fail (t != NULL && n != NULL, NULL);
    int ns = (int) t->st.switches->len;
    int64_t *out = g_new (int64_t, 2 * ns + 1);
    if (!t->st.has_params) {
        *n = 0;
        return out;
    }
    out[0] = t->st.initial_params;
    *n = 1;
    for (int i = 0; i < ns; i++) {
        const DnTrackerSwitch *sw = &g_array_index (t->st.switches, DnTrackerSwitch, i);
        out[(*n)++] = sw->params;
        if (sw->end_epoch >= 0)
            out[(*n)++] = sw->params;
    }
    return out;
}

int dn_tracker_n_rollbacks (const DnTracker *t)
{
    g_return_val_if_fail (t != NULL, 0);
    return (int) t->rollbacks->len;
}

gboolean dn_tracker_get_rollback (const DnTracker *t, int i, DnTrackerRollback *out)
{
    g_return_val_if_fail (t != NULL && out != NULL, FALSE);
    if (i < 0 || i >= (int) t->rollbacks->len)
        return FALSE;
    const DnTrackerRollbackRec *r = &g_array_index (t->rollbacks, DnTrackerRollbackRec, i);
    *out = (DnTrackerRollback){
        .kind = r->kind,
        .from_epoch = r->from_epoch,
        .to_epoch = r->to_epoch,
        .first_epoch = r->first_epoch,
        .total_epoch = r->total_epoch,
        .n_rows = (int) r->rows->len,
        .rows = (const DnTrackerEpoch *) (gpointer) r->rows->data,
    };
    return TRUE;
}

void dn_tracker_get_markers (const DnTracker *t, DnTrackerMarkers *m)
{
    g_return_if_fail (t != NULL && m != NULL);
    const DnTrackerState *s = &t->st;
    m->has_global_best = s->has_global_best;
    m->global_best = s->has_global_best ? s->global_best : NAN;
    m->global_best_epoch = s->has_global_best ? s->global_best_epoch : -1;
    m->epoch_last_improved = s->epoch_last_improved;
    int e = s->epoch_last_improved;
    m->last_improved_val =
        e >= 0 && e < (int) s->rows->len ? g_array_index (s->rows, DnTrackerEpoch, e).val : NAN;
}

/* Index of the best validation score in rows[lo..hi]; the first on ties. */
static int best_index (const DnTracker *t, const DnTrackerEpoch *rows, int lo, int hi)
{
    int best = lo;
    for (int i = lo + 1; i <= hi; i++) {
        gboolean better =
            t->run.maximizing_score ? rows[i].val > rows[best].val : rows[i].val < rows[best].val;
        if (better)
            best = i;
    }
    return best;
}

static void add_arch (GArray *out, const DnTrackerEpoch *rows, int i, int dendrites, int64_t params,
                      gboolean use_test)
{
    DnTrackerArchScore a = {
        .dendrites = dendrites,
        .params = params >= 0 ? params : rows[i].params,
        .epoch = i,
        .best_val = rows[i].val,
        .test_at_best = use_test ? rows[i].test : rows[i].val,
    };
    g_array_append_val (out, a);
}

/* §10.2's best-per-architecture algorithm, on single (not doubled) switches. */
DnTrackerArchScore *dn_tracker_best_scores (const DnTracker *t, int *n)
{
    g_return_val_if_fail (t != NULL && n != NULL, NULL);
    const DnTrackerState *s = &t->st;
    const DnTrackerEpoch *rows = (const DnTrackerEpoch *) (gpointer) s->rows->data;
    const DnTrackerSwitch *sw = (const DnTrackerSwitch *) (gpointer) s->switches->data;
    int nr = (int) s->rows->len, ns = (int) s->switches->len;
    GArray *out = g_array_new (FALSE, FALSE, sizeof (DnTrackerArchScore));
    gboolean use_test = FALSE;
    for (int i = 0; i < nr && !use_test; i++)
        use_test = !isnan (rows[i].test);
    int64_t last_params = ns > 0 && sw[ns - 1].params >= 0 ? sw[ns - 1].params
                          : s->has_params                  ? s->initial_params
                                                           : -1;

    int lo = 0;
    for (int i = 0; i < ns; i++) {
        int hi = MIN (sw[i].epoch, nr - 1);
        if (lo <= hi) {
            int64_t p = i == 0 ? (s->has_params ? s->initial_params : -1) : sw[i - 1].params;
            int k = i == 0 ? 0 : sw[i - 1].dendrites;
            if (!t->run.doing_pai)
                p = last_params;
            add_arch (out, rows, best_index (t, rows, lo, hi), k, p, use_test);
        }
        lo = sw[i].epoch + 1;
    }
    if (lo <= nr - 1) /* the open cycle */
        add_arch (out, rows, best_index (t, rows, lo, nr - 1), ns > 0 ? sw[ns - 1].dendrites : 0,
                  last_params, use_test);
    *n = (int) out->len;
    return (DnTrackerArchScore *) (gpointer) g_array_free (out, FALSE);
}

int dn_tracker_n_events (const DnTracker *t)
{
    g_return_val_if_fail (t != NULL, 0);
    return (int) t->events->len;
}

gboolean dn_tracker_get_event (const DnTracker *t, int i, DnTrackerEvent *out)
{
    g_return_val_if_fail (t != NULL && out != NULL, FALSE);
    if (i < 0 || i >= (int) t->events->len)
        return FALSE;
    const DnTrackerEventRec *e = &g_array_index (t->events, DnTrackerEventRec, i);
    *out = (DnTrackerEvent){
        .epoch = e->epoch,
        .total_epoch = e->total_epoch,
        .decision = e->decision,
        .done = e->done,
        .dendrites = e->dendrites,
        .message = e->message,
    };
    return TRUE;
}

int dn_tracker_dendrites (const DnTracker *t)
{
    g_return_val_if_fail (t != NULL, 0);
    return t->st.dendrites;
}

int dn_tracker_total_epochs (const DnTracker *t)
{
    g_return_val_if_fail (t != NULL, 0);
    return t->total_epochs;
}

int dn_tracker_overwritten_epochs (const DnTracker *t)
{
    g_return_val_if_fail (t != NULL, 0);
    return t->total_epochs - (int) t->st.rows->len;
}

gboolean dn_tracker_is_complete (const DnTracker *t)
{
    g_return_val_if_fail (t != NULL, FALSE);
    return t->complete;
}

const DnTrackerConfig *dn_tracker_get_config (const DnTracker *t)
{
    g_return_val_if_fail (t != NULL, NULL);
    return &t->cfg;
}

/* ---- status ---- */

/* Epochs until the next switch check can fire, counting the next epoch as 1,
 * assuming no further improvement. */
static int switch_in (const DnTracker *t)
{
    const DnTrackerState *s = &t->st;
    int k = s->dendrites, next = s->num_epochs_run;
    switch (t->run.switch_mode) {
    case DN_TRACKER_SWITCH_NEVER:
        return -1;
    case DN_TRACKER_SWITCH_EVERY_EPOCH:
        return 1;
    case DN_TRACKER_SWITCH_HISTORY: {
        if (dn_tracker_sweep_blocking (t))
            return -1;
        int n = (int) dn_tracker_list_at (&t->run.n_epochs_to_switch, k);
        int h = (int) dn_tracker_list_at (&t->run.initial_history_after_switches, k);
        int at = MAX (next, MAX (s->epoch_last_improved + n, s->last_switch + h + n));
        return at - next + 1;
    }
    case DN_TRACKER_SWITCH_FIXED: {
        int period = (int) dn_tracker_list_at (&t->run.fixed_switch_num, k);
        int first = (int) dn_tracker_list_at (&t->run.first_fixed_switch_num, k);
        int d = MAX (0, first - 1 - next);
        d += (2 * period - 1 - (t->total_epochs + d) % period) % period;
        return d + 1;
    }
    }
    return -1;
}

void dn_tracker_get_status (const DnTracker *t, DnTrackerStatus *st)
{
    g_return_if_fail (t != NULL && st != NULL);
    const DnTrackerState *s = &t->st;
    st->mode = DN_TRACKER_MODE_NEURON;
    st->dendrites = s->dendrites;
    st->tries = s->tries;
    st->epoch = s->num_epochs_run;
    st->epochs_since_improved = MAX (0, s->num_epochs_run - 1 - s->epoch_last_improved);
    st->complete = t->complete;
    st->sweep_blocking = !t->complete && dn_tracker_sweep_blocking (t);
    st->switch_in = t->complete ? -1 : switch_in (t);
    if (s->mode == DN_TRACKER_MODE_DENDRITE && !t->complete) {
        st->mode = DN_TRACKER_MODE_DENDRITE;
        st->sweep_blocking = FALSE;
        dn_tracker_pb_status (t, &st->epochs_since_improved, &st->switch_in);
    }
}

/* What the learning-rate sweep tries now and, in epochs counted from 1, by when
 * it decides: a trial ends after two rate drops or its epoch budget
 * (dn-tracker-sweep.c). */
static void append_sweep (const DnTracker *t, GString *out, const char *verb)
{
    const DnTrackerState *s = &t->st;
    g_string_append_printf (out, ", %s after the learning-rate sweep decides: ", verb);
    char lr[G_ASCII_DTOSTR_BUF_SIZE];
    g_ascii_formatd (lr, sizeof lr, "%.3g", dn_scheduler_lr (t->scheduler));
    if (s->skip_steps == 0)
        g_string_append_printf (out, "trying the usual start (lr %s)", lr);
    else
        g_string_append_printf (out, "trying a start %d step%s lower (lr %s)", s->skip_steps,
                                s->skip_steps == 1 ? "" : "s", lr);
    g_string_append_printf (out, ", trial %d", s->n_trial + 1);
    int budget = s->n_trial == 0 ? 2 * s->test_epoch_count : s->test_epoch_count;
    if (s->test_epoch_count > 0 && s->last_switch + budget >= s->num_epochs_run)
        g_string_append_printf (out, "; decides by epoch %d", s->last_switch + budget + 1);
    else
        g_string_append (out, "; decides after two rate drops");
}

char *dn_tracker_status_text (const DnTracker *t)
{
    g_return_val_if_fail (t != NULL, NULL);
    DnTrackerStatus st;
    dn_tracker_get_status (t, &st);
    if (st.complete) {
        /* the completing decision is the last event */
        const DnTrackerEventRec *e =
            t->events->len > 0 ? &g_array_index (t->events, DnTrackerEventRec, t->events->len - 1)
                               : NULL;
        if (e != NULL && e->done == DN_TRACKER_DONE_CAPACITY_TEST)
            return g_strdup ("capacity test complete: no problems were detected");
        if (e != NULL && e->done == DN_TRACKER_DONE_EARLY_STOPPING)
            return g_strdup_printf ("training complete: early stopping kept epoch %d",
                                    (int) t->st.rows->len);
        return g_strdup_printf ("training complete: best architecture has %d dendrite set%s",
                                st.dendrites, st.dendrites == 1 ? "" : "s");
    }
    GString *out = g_string_new (NULL);
    if (st.mode == DN_TRACKER_MODE_DENDRITE) {
        g_string_append_printf (out,
                                "dendrite phase, %d dendrite set%s, training candidates for set "
                                "%d, %d epoch%s without improvement, ending in %d",
                                st.dendrites, st.dendrites == 1 ? "" : "s", st.dendrites + 1,
                                st.epochs_since_improved, st.epochs_since_improved == 1 ? "" : "s",
                                st.switch_in);
        return g_string_free (out, FALSE);
    }
    if (t->run.doing_pai) {
        g_string_append_printf (out, "neuron phase, %d dendrite set%s", st.dendrites,
                                st.dendrites == 1 ? "" : "s");
        int max_tries = (int) dn_tracker_list_at (&t->run.max_dendrite_tries, st.dendrites);
        if (st.tries > 0)
            g_string_append_printf (out, " (attempt %d of %d)", st.tries + 1, max_tries);
    } else {
        g_string_append (out, "no dendrites (baseline)");
    }
    g_string_append_printf (out, ", %d epoch%s without improvement", st.epochs_since_improved,
                            st.epochs_since_improved == 1 ? "" : "s");
    const char *verb = t->run.doing_pai ? "switching" : "stopping";
    if (st.sweep_blocking)
        append_sweep (t, out, verb);
    else if (t->run.switch_mode == DN_TRACKER_SWITCH_NEVER)
        g_string_append (out, ", no automatic switching (stop by hand or by an epoch limit)");
    else if (t->run.switch_mode == DN_TRACKER_SWITCH_EVERY_EPOCH)
        g_string_append_printf (out, ", %s after every epoch", verb);
    else
        g_string_append_printf (out, ", %s in %d", verb, st.switch_in);
    return g_string_free (out, FALSE);
}
