/* test-tracker.c: the dendrite tracker on scripted score sequences (spec
 * perforated-dendrites.md §6): patience, running score, thresholds, switch
 * modes, rollback, retries, limits, minimising, early stopping, the capacity
 * dry run, the LR sweep, messages and history for CSVs and charts.
 * Settings: test-tracker-config.c; saving, resuming, copying: test-tracker-state.c. */
#include "dn-tracker-test.h"

/* ---- patience and the first switch ---- */

static void test_switch_patience (void)
{
    DnTrackerConfig c = defaults ();
    g_autoptr (DnTracker) t = make (&c, NULL, 0.1);
    dn_tracker_set_score_unit (t, "%");
    DnTrackerAction a;
    for (int epoch = 0; epoch < 24; epoch++) {
        feed (t, rising_then_flat (epoch), &a);
        g_assert_cmpint (a.decision, ==, DN_TRACKER_CONTINUE);
        g_assert_cmpint (a.epoch, ==, epoch);
        if (epoch == 0) {
            /* epoch 0 is never a best (no history yet), only the fallback best_model */
            g_assert_false (a.new_best);
            assert_ops (&a, "save best_model, save latest");
        } else if (epoch == 1) {
            g_assert_true (a.new_best);
            g_assert_cmpstr (a.message, ==, "new best 51 % at epoch 2");
            assert_ops (&a, "save best_model, save latest");
        } else if (epoch > 14) {
            g_assert_false (a.new_best);
            assert_ops (&a, "save latest");
        }
        if (epoch == 17) {
            g_autofree char *status = dn_tracker_status_text (t);
            g_assert_cmpstr (status, ==,
                             "neuron phase, 0 dendrite sets, 3 epochs without improvement, "
                             "switching in 7");
            DnTrackerStatus st;
            dn_tracker_get_status (t, &st);
            g_assert_cmpint (st.epochs_since_improved, ==, 3);
            g_assert_cmpint (st.switch_in, ==, 7);
            g_assert_cmpint (st.dendrites, ==, 0);
            g_assert_cmpint (st.mode, ==, DN_TRACKER_MODE_NEURON);
        }
    }
    /* Ten epochs after the best (epoch 14) the patience runs out. */
    feed (t, rising_then_flat (24), &a);
    g_assert_cmpint (a.decision, ==, DN_TRACKER_ADD_DENDRITES);
    g_assert_cmpint (a.epoch, ==, 24);
    g_assert_cmpstr (a.message, ==,
                     "no improvement for 10 epochs: restoring epoch 15 and adding dendrite set 1");
    assert_ops (&a, "graphs _beforeSwitch_0 pre, save beforeSwitch_0, "
                    "copy best_model>best_model_beforeSwitch_0, restore best_model@14/k0, add 1, "
                    "save switch_2, save latest");
    g_assert_true (a.restructured);
    g_assert_false (a.complete);
    g_assert_true (a.rebuild_optimizer);
    g_assert_cmpint (a.restored_epoch, ==, 14);
    g_assert_cmpint (a.dendrites, ==, 1);
    g_assert_cmpint (dn_tracker_dendrites (t), ==, 1);
    g_assert_cmpfloat (a.lr, ==, 0.1);

    /* Scores that never improve after epoch 1: the first switch comes N
     * epochs later, for several N. */
    const int patience[] = {1, 3, 5, 10};
    for (guint i = 0; i < G_N_ELEMENTS (patience); i++) {
        DnTrackerConfig c2 = defaults ();
        dn_tracker_list_set (&c2.n_epochs_to_switch, patience[i]);
        g_autoptr (DnTracker) t2 = make (&c2, NULL, 0.1);
        int epoch = 0;
        for (;; epoch++) {
            feed (t2, 42.0, &a);
            if (a.decision != DN_TRACKER_CONTINUE)
                break;
            g_assert_cmpint (epoch, <, 100);
        }
        g_assert_cmpint (a.decision, ==, DN_TRACKER_ADD_DENDRITES);
        g_assert_cmpint (epoch, ==, 1 + patience[i]);
    }
}

static void test_running_lookback (void)
{
    DnTrackerConfig c = defaults ();
    dn_tracker_list_set (&c.history_lookback, 4);
    dn_tracker_list_set (&c.n_epochs_to_switch, 1000);
    g_autoptr (DnTracker) t = make (&c, NULL, 0.1);
    const double vals[] = {10, 20, 30, 25, 40, 40, 40, 5, 40};
    DnTrackerAction a;
    double running = 100.0 / 1e10; /* seeded from num_classes */
    double best = -1;
    for (guint i = 0; i < G_N_ELEMENTS (vals); i++) {
        feed (t, vals[i], &a);
        running = running * (1.0 - 1.0 / 4) + vals[i] * (1.0 / 4);
        const DnTrackerEpoch *r = row (t, (int) i);
        g_assert_cmpfloat (r->running, ==, running);
        g_assert_cmpfloat (r->val, ==, vals[i]);
        gboolean improved =
            i > 0 && (best < 0 || (running * 0.999 > best && running - 1e-5 > best));
        g_assert_cmpint (r->new_best, ==, improved);
        if (improved)
            best = running;
    }
    /* the dip at epoch 7 moves the running score only a quarter of the way */
    g_assert_cmpfloat (row (t, 7)->running, >, 20);

    /* Grace epochs after a switch (initial_history_after_switches = 2): the
     * running score is the plain mean, and no best is set until e > 2. */
    DnTrackerConfig c2 = defaults ();
    dn_tracker_list_set (&c2.initial_history_after_switches, 2);
    dn_tracker_list_set (&c2.n_epochs_to_switch, 3);
    g_autoptr (DnTracker) t2 = make (&c2, NULL, 0.1);
    const double v2[] = {10, 30, 50, 60};
    for (guint i = 0; i < G_N_ELEMENTS (v2); i++)
        feed (t2, v2[i], &a);
    g_assert_cmpfloat (row (t2, 0)->running, ==, 10);
    g_assert_cmpfloat (row (t2, 1)->running, ==, 20); /* (10 + 30) / 2 */
    g_assert_cmpfloat (row (t2, 2)->running, ==, 50); /* e = 2: EMA with L = 1 */
    g_assert_false (row (t2, 0)->new_best);
    g_assert_false (row (t2, 1)->new_best);
    g_assert_false (row (t2, 2)->new_best);
    g_assert_true (row (t2, 3)->new_best);
    /* the switch needs both patience (3) and H + N = 5 epochs in the cycle */
    int epoch = 4;
    for (;; epoch++) {
        feed (t2, 60, &a);
        if (a.decision != DN_TRACKER_CONTINUE)
            break;
    }
    g_assert_cmpint (epoch, ==, 6);
}

/* The new_best flags of rows 0..n-1 after feeding vals, as "FTFT". */
static char *best_flags (DnTracker *t, const double *vals, int n)
{
    DnTrackerAction a;
    GString *s = g_string_new (NULL);
    for (int i = 0; i < n; i++) {
        feed (t, vals[i], &a);
        g_string_append_c (s, row (t, n_rows (t) - 1)->new_best ? 'T' : 'F');
    }
    return g_string_free (s, FALSE);
}

static void test_thresholds (void)
{
    const double vals[] = {50, 50, 54, 56, 56};
    DnTrackerConfig c = defaults ();
    dn_tracker_list_set (&c.improvement_threshold, 0.1); /* relative only */
    dn_tracker_list_set (&c.improvement_threshold_raw, 0.0);
    g_autoptr (DnTracker) rel = make (&c, NULL, 0.1);
    g_autofree char *f1 = best_flags (rel, vals, 5);
    g_assert_cmpstr (f1, ==, "FTFTF"); /* 54 * 0.9 < 50; 56 * 0.9 > 50 */

    c = defaults ();
    dn_tracker_list_set (&c.improvement_threshold, 0.0); /* absolute only */
    dn_tracker_list_set (&c.improvement_threshold_raw, 5.0);
    g_autoptr (DnTracker) abs_ = make (&c, NULL, 0.1);
    g_autofree char *f2 = best_flags (abs_, vals, 5);
    g_assert_cmpstr (f2, ==, "FTFTF"); /* 54 - 5 < 50; 56 - 5 > 50 */

    /* both must hold */
    c = defaults ();
    dn_tracker_list_set (&c.improvement_threshold, 0.01);
    dn_tracker_list_set (&c.improvement_threshold_raw, 3.0);
    g_autoptr (DnTracker) both = make (&c, NULL, 0.1);
    const double v3[] = {50, 50, 51, 52.5, 53.5};
    g_autofree char *f3 = best_flags (both, v3, 5);
    g_assert_cmpstr (f3, ==, "FTFFT"); /* 51, 52.5 pass 1 % but not +3 */

    /* per dendrite count: 50 % margin without dendrites, none with one set */
    c = defaults ();
    const double thr[] = {0.5, 0.0};
    dn_tracker_list_set_values (&c.improvement_threshold, thr, 2);
    dn_tracker_list_set (&c.improvement_threshold_raw, 0.0);
    g_autoptr (DnTracker) t = make (&c, NULL, 0.1);
    const double v4[] = {10, 10, 14, 19, 21};
    g_autofree char *f4 = best_flags (t, v4, 5);
    g_assert_cmpstr (f4, ==, "FTFFT");
    DnTrackerAction a;
    feed_full (t, 21, NAN, TRUE, &a); /* forced switch: restores row 4 */
    g_assert_cmpint (a.decision, ==, DN_TRACKER_ADD_DENDRITES);
    g_assert_cmpint (a.restored_epoch, ==, 4);
    const double v5[] = {21.5, 21.6, 21.6, 21.7};
    g_autofree char *f5 = best_flags (t, v5, 4);
    g_assert_cmpstr (f5, ==, "TTFT");
    g_assert_true (row (t, 5)->new_global_best); /* 21.5 > 21 with no margin */
}

static void test_switch_every_epoch (void)
{
    DnTrackerConfig c = defaults ();
    c.switch_mode = DN_TRACKER_SWITCH_EVERY_EPOCH;
    dn_tracker_list_set (&c.max_dendrites, 3);
    g_autoptr (DnTracker) t = make (&c, NULL, 0.1);
    DnTrackerAction a;
    feed (t, 10, &a);
    g_assert_cmpint (a.decision, ==, DN_TRACKER_ADD_DENDRITES);
    g_assert_true (a.new_best); /* every-epoch mode lets epoch 0 count */
    g_assert_cmpstr (a.message, ==,
                     "switching at every epoch (epoch 1): restoring epoch 1 and adding dendrite "
                     "set 1");
    g_assert_cmpint (dn_tracker_n_rollbacks (t), ==, 0); /* nothing was discarded */
    feed (t, 20, &a);
    g_assert_cmpint (a.decision, ==, DN_TRACKER_ADD_DENDRITES);
    feed (t, 30, &a);
    g_assert_cmpint (a.decision, ==, DN_TRACKER_ADD_DENDRITES);
    g_assert_cmpint (a.dendrites, ==, 3);
    feed (t, 40, &a);
    g_assert_cmpint (a.decision, ==, DN_TRACKER_COMPLETE);
    g_assert_cmpint (a.done, ==, DN_TRACKER_DONE_MAX_DENDRITES);
    g_assert_cmpint (a.dendrites, ==, 3);
    g_assert_nonnull (strstr (a.message, "best architecture has 3 dendrite sets"));
    int ns;
    const DnTrackerSwitch *sw = dn_tracker_switches (t, &ns);
    g_assert_cmpint (ns, ==, 3);
    g_assert_cmpint (sw[0].epoch, ==, 0);
    g_assert_cmpint (sw[1].epoch, ==, 1);
    g_assert_cmpint (sw[2].epoch, ==, 2);
    g_assert_cmpint (sw[2].params, ==, 4000);
}

static void test_switch_fixed (void)
{
    DnTrackerConfig c = defaults ();
    c.switch_mode = DN_TRACKER_SWITCH_FIXED;
    dn_tracker_list_set (&c.fixed_switch_num, 5);
    dn_tracker_list_set (&c.first_fixed_switch_num, 4);
    g_autoptr (DnTracker) t = make (&c, NULL, 0.1);
    DnTrackerAction a;
    /* best at epoch 2, flat after: the period counts total epochs, not patience.
     * 3.2.9's formula: total mod 5 == 4 and the row at least 4 - 1. */
    const double v1[] = {10, 20, 30, 25};
    g_assert_cmpint (feed_n (t, v1, 4, &a), ==, DN_TRACKER_CONTINUE);
    feed (t, 25, &a);
    g_assert_cmpint (a.decision, ==, DN_TRACKER_ADD_DENDRITES);
    g_assert_cmpint (a.epoch, ==, 4);
    g_assert_cmpstr (a.message, ==,
                     "fixed switch at epoch 5: restoring epoch 3 and adding dendrite set 1");
    g_assert_cmpint (dn_tracker_overwritten_epochs (t), ==, 2);
    /* the next switch is at total epoch 9, which is history row 7 */
    const double v2[] = {31, 32, 33, 34};
    g_assert_cmpint (feed_n (t, v2, 4, &a), ==, DN_TRACKER_CONTINUE);
    DnTrackerStatus st;
    dn_tracker_get_status (t, &st);
    g_assert_cmpint (st.switch_in, ==, 1);
    feed (t, 35, &a);
    g_assert_cmpint (a.decision, ==, DN_TRACKER_ADD_DENDRITES);
    g_assert_cmpint (a.epoch, ==, 7);
    g_assert_cmpint (dn_tracker_total_epochs (t), ==, 10);
    g_assert_cmpstr (a.message, ==,
                     "fixed switch at epoch 8: restoring epoch 8 and adding dendrite set 2");
}

static void test_switch_never (void)
{
    DnTrackerConfig c = defaults ();
    c.switch_mode = DN_TRACKER_SWITCH_NEVER;
    g_autoptr (DnTracker) t = make (&c, NULL, 0.1);
    DnTrackerAction a;
    for (int i = 0; i < 300; i++) {
        feed (t, 50, &a);
        g_assert_cmpint (a.decision, ==, DN_TRACKER_CONTINUE);
    }
    DnTrackerStatus st;
    dn_tracker_get_status (t, &st);
    g_assert_cmpint (st.switch_in, ==, -1);
    g_autofree char *text = dn_tracker_status_text (t);
    g_assert_nonnull (strstr (text, "no automatic switching"));

    /* the reference's force_switch still works */
    feed_full (t, 50, NAN, TRUE, &a);
    g_assert_cmpint (a.decision, ==, DN_TRACKER_ADD_DENDRITES);
    g_assert_cmpstr (a.message, ==,
                     "switch requested at epoch 301: restoring epoch 2 and adding dendrite set 1");
}

/* ---- rollback ---- */

static void test_rollback_history (void)
{
    DnTrackerConfig c = defaults ();
    g_autoptr (DnTracker) t = make (&c, NULL, 0.1);
    DnTrackerAction a;
    for (int epoch = 0; epoch <= 24; epoch++)
        feed (t, rising_then_flat (epoch), &a);
    g_assert_cmpint (a.decision, ==, DN_TRACKER_ADD_DENDRITES);

    /* The history is rewound to the best epoch... */
    g_assert_cmpint (n_rows (t), ==, 15);
    g_assert_cmpfloat (row (t, 14)->val, ==, 64);
    g_assert_cmpint (dn_tracker_total_epochs (t), ==, 25);
    g_assert_cmpint (dn_tracker_overwritten_epochs (t), ==, 10);
    /* ...and the overwritten epochs are kept for faint drawing. */
    g_assert_cmpint (dn_tracker_n_rollbacks (t), ==, 1);
    DnTrackerRollback r;
    g_assert_true (dn_tracker_get_rollback (t, 0, &r));
    g_assert_cmpint (r.kind, ==, DN_TRACKER_ROLLBACK_SWITCH);
    g_assert_cmpint (r.from_epoch, ==, 24);
    g_assert_cmpint (r.to_epoch, ==, 14);
    g_assert_cmpint (r.first_epoch, ==, 15);
    g_assert_cmpint (r.n_rows, ==, 10);
    for (int i = 0; i < r.n_rows; i++) {
        g_assert_cmpint (r.rows[i].epoch, ==, 15 + i);
        g_assert_cmpint (r.rows[i].total_epoch, ==, 15 + i);
        g_assert_cmpfloat (r.rows[i].val, ==, 60);
    }
    g_assert_false (dn_tracker_get_rollback (t, 1, &r));

    /* The switch line, the markers and the parameter count. */
    int ns;
    const DnTrackerSwitch *sw = dn_tracker_switches (t, &ns);
    g_assert_cmpint (ns, ==, 1);
    g_assert_cmpint (sw[0].epoch, ==, 14);
    g_assert_cmpint (sw[0].kind, ==, DN_TRACKER_SWITCH_ADD);
    g_assert_cmpint (sw[0].params, ==, -1); /* not known before the grown network reports it */
    DnTrackerMarkers m;
    dn_tracker_get_markers (t, &m);
    g_assert_true (m.has_global_best);
    g_assert_cmpfloat (m.global_best, ==, 64);
    g_assert_cmpint (m.global_best_epoch, ==, 14);

    feed (t, 70, &a);
    const DnTrackerEpoch *e = row (t, 15);
    g_assert_cmpint (e->epoch, ==, 15);
    g_assert_cmpint (e->total_epoch, ==, 25);
    g_assert_cmpint (e->cycle_epoch, ==, 1);
    g_assert_cmpint (e->dendrites, ==, 1);
    g_assert_cmpint (e->params, ==, 2000);
    g_assert_true (e->new_global_best);
    sw = dn_tracker_switches (t, &ns);
    g_assert_cmpint (sw[0].params, ==, 2000);
    dn_tracker_get_markers (t, &m);
    g_assert_cmpint (m.epoch_last_improved, ==, 15);
    g_assert_cmpfloat (m.last_improved_val, ==, 70);

    /* the reference's doubled lists for switch_epochs.csv and param_counts.csv */
    int n;
    g_autofree int *se = dn_tracker_compat_switch_epochs (t, &n);
    g_assert_cmpint (n, ==, 2);
    g_assert_cmpint (se[0], ==, 14);
    g_assert_cmpint (se[1], ==, 14);
    g_autofree int64_t *pc = dn_tracker_compat_param_counts (t, &n);
    g_assert_cmpint (n, ==, 3);
    g_assert_cmpint (pc[0], ==, 1000);
    g_assert_cmpint (pc[1], ==, 2000);
    g_assert_cmpint (pc[2], ==, 2000);

    /* With save_old_graph_scores off only the latest rollback is kept. */
    c.save_old_graph_scores = FALSE;
    dn_tracker_list_set (&c.n_epochs_to_switch, 2);
    g_autoptr (DnTracker) t2 = make (&c, NULL, 0.1);
    const double v[] = {1, 2, 3, 3, 3, 4, 5, 5, 5};
    feed_n (t2, v, G_N_ELEMENTS (v), &a);
    g_assert_cmpint (a.decision, ==, DN_TRACKER_ADD_DENDRITES);
    g_assert_cmpint (dn_tracker_dendrites (t2), ==, 2);
    g_assert_cmpint (dn_tracker_n_rollbacks (t2), ==, 1);
    g_assert_true (dn_tracker_get_rollback (t2, 0, &r));
    g_assert_cmpint (r.first_epoch, ==, 5);
}

/* ---- retries, limits, completion ---- */

static void test_retries (void)
{
    DnTrackerConfig c = defaults ();
    dn_tracker_list_set (&c.n_epochs_to_switch, 3);
    dn_tracker_list_set (&c.max_dendrite_tries, 3); /* attempts, as 3.2.9 counts: 2 retries */
    g_autoptr (DnTracker) t = make (&c, NULL, 0.1);
    DnTrackerAction a;
    const double v0[] = {10, 20, 30, 30, 30, 30};
    g_assert_cmpint (feed_n (t, v0, 6, &a), ==, DN_TRACKER_ADD_DENDRITES);
    g_assert_cmpint (a.restored_epoch, ==, 2);

    /* dendrite set 1 never beats 30: two retries with fresh dendrites... */
    const double flat[] = {25, 25, 25, 25};
    for (int attempt = 1; attempt <= 2; attempt++) {
        g_assert_cmpint (feed_n (t, flat, 4, &a), ==, DN_TRACKER_RETRY);
        g_autofree char *want = g_strdup_printf ("dendrite set 1 did not beat 30: attempt %d of 3 "
                                                 "with fresh dendrites, restoring epoch 3",
                                                 attempt + 1);
        g_assert_cmpstr (a.message, ==, want);
        assert_ops (&a, "graphs _noImprove_lr_0 ts pre, restore best_model@2/k0, add 1, "
                        "save switch_2, save latest");
        g_assert_true (a.rebuild_optimizer);
        int ns;
        const DnTrackerSwitch *sw = dn_tracker_switches (t, &ns);
        g_assert_cmpint (ns, ==, 1);
        g_assert_cmpint (sw[0].kind, ==, DN_TRACKER_SWITCH_RETRY);
        g_assert_cmpint (sw[0].try_index, ==, attempt);
        DnTrackerStatus st;
        dn_tracker_get_status (t, &st);
        g_assert_cmpint (st.tries, ==, attempt);
    }
    g_autofree char *status = dn_tracker_status_text (t);
    g_assert_cmpstr (status, ==,
                     "neuron phase, 1 dendrite set (attempt 3 of 3), 0 epochs without improvement, "
                     "switching in 4");
    /* ...then the smaller model is the final one */
    g_assert_cmpint (feed_n (t, flat, 4, &a), ==, DN_TRACKER_COMPLETE);
    g_assert_cmpint (a.done, ==, DN_TRACKER_DONE_NO_IMPROVEMENT);
    g_assert_true (a.complete);
    g_assert_true (a.restructured);
    g_assert_false (a.rebuild_optimizer);
    g_assert_cmpstr (a.message, ==,
                     "dendrite set 1 did not beat 30 and no attempts are left (3 allowed): "
                     "restoring epoch 3; training complete: best architecture has 0 dendrite sets");
    assert_ops (&a, "graphs _noImprove_lr_0 ts pre, restore best_model@2/k0, "
                    "clean final_clean_pai, save latest");
    g_assert_cmpint (dn_tracker_dendrites (t), ==, 0);
    g_assert_true (dn_tracker_is_complete (t));
    g_assert_cmpint (n_rows (t), ==, 3);
    g_assert_cmpint (dn_tracker_n_rollbacks (t), ==, 4); /* switch, retry, retry, final */
    g_autofree char *done = dn_tracker_status_text (t);
    g_assert_cmpstr (done, ==, "training complete: best architecture has 0 dendrite sets");

    /* every decision is in the event log, in plain words */
    g_assert_cmpint (dn_tracker_n_events (t), ==, 4);
    DnTrackerEvent ev;
    g_assert_true (dn_tracker_get_event (t, 0, &ev));
    g_assert_cmpint (ev.decision, ==, DN_TRACKER_ADD_DENDRITES);
    g_assert_cmpstr (ev.message, ==,
                     "no improvement for 3 epochs: restoring epoch 3 and adding dendrite set 1");
    g_assert_true (dn_tracker_get_event (t, 3, &ev));
    g_assert_cmpint (ev.decision, ==, DN_TRACKER_COMPLETE);
    g_assert_cmpint (ev.total_epoch, ==, 17);

    /* nothing more is accepted */
    DnTrackerScores s = {.val = 1, .test = NAN, .params = 1};
    g_autoptr (GError) error = NULL;
    g_assert_false (dn_tracker_add_score (t, &s, &a, &error));
    g_assert_error (error, DN_ERROR, DN_ERROR_UNSUPPORTED);
}

static void test_retries_reloaded (void)
{
    /* 3.2.9: the attempt count is saved with best_model and comes back with it,
     * so a set kept after a retry leaves the next count fewer attempts */
    DnTrackerConfig c = defaults ();
    dn_tracker_list_set (&c.n_epochs_to_switch, 2);
    g_autoptr (DnTracker) t = make (&c, NULL, 0.1);
    DnTrackerAction a;
    const double v0[] = {10, 20, 20, 20};
    g_assert_cmpint (feed_n (t, v0, 4, &a), ==, DN_TRACKER_ADD_DENDRITES); /* set 1 */
    const double fail[] = {15, 15, 15};
    g_assert_cmpint (feed_n (t, fail, 3, &a), ==, DN_TRACKER_RETRY);
    g_assert_nonnull (strstr (a.message, "attempt 2 of 2"));
    const double good[] = {25, 26, 26, 26};
    g_assert_cmpint (feed_n (t, good, 4, &a), ==, DN_TRACKER_ADD_DENDRITES); /* set 2 */
    g_assert_cmpint (a.dendrites, ==, 2);
    g_assert_cmpint (feed_n (t, fail, 3, &a), ==, DN_TRACKER_COMPLETE);
    g_assert_nonnull (strstr (a.message, "dendrite set 2 did not beat 26 and no attempts"));
    g_assert_nonnull (strstr (a.message, "best architecture has 1 dendrite set"));
    g_assert_cmpint (dn_tracker_dendrites (t), ==, 1);

    /* one attempt: the first rejected set ends the run */
    dn_tracker_list_set (&c.max_dendrite_tries, 1);
    g_autoptr (DnTracker) t2 = make (&c, NULL, 0.1);
    feed_n (t2, v0, 4, &a);
    g_assert_cmpint (feed_n (t2, fail, 3, &a), ==, DN_TRACKER_COMPLETE);
    g_assert_cmpint (a.done, ==, DN_TRACKER_DONE_NO_IMPROVEMENT);
    g_assert_cmpint (dn_tracker_dendrites (t2), ==, 0);
}

static void test_max_dendrites (void)
{
    DnTrackerConfig c = defaults ();
    dn_tracker_list_set (&c.n_epochs_to_switch, 2);
    dn_tracker_list_set (&c.max_dendrites, 2);
    g_autoptr (DnTracker) t = make (&c, NULL, 0.1);
    DnTrackerAction a;
    const double cycles[3][4] = {{10, 20, 20, 20}, {30, 40, 40, 40}, {50, 60, 60, 60}};
    for (int k = 0; k < 2; k++) {
        for (int i = 0; i < 4; i++)
            feed_full (t, cycles[k][i], cycles[k][i] - 1, FALSE, &a);
        g_assert_cmpint (a.decision, ==, DN_TRACKER_ADD_DENDRITES);
        g_assert_cmpint (a.dendrites, ==, k + 1);
    }
    for (int i = 0; i < 4; i++)
        feed_full (t, cycles[2][i], cycles[2][i] - 1, FALSE, &a);
    g_assert_cmpint (a.decision, ==, DN_TRACKER_COMPLETE);
    g_assert_cmpint (a.done, ==, DN_TRACKER_DONE_MAX_DENDRITES);
    g_assert_cmpstr (a.message, ==,
                     "no improvement for 2 epochs and max_dendrites (2) is reached: restoring "
                     "epoch 6; training complete: best architecture has 2 dendrite sets");
    assert_ops (&a, "graphs before_final pre, restore best_model@5/k2, clean final_clean_pai, "
                    "save latest");
    g_assert_cmpint (dn_tracker_dendrites (t), ==, 2);

    /* best_test_scores.csv: one row per architecture, the test score at the
     * epoch of the best validation score */
    int n;
    g_autofree DnTrackerArchScore *best = dn_tracker_best_scores (t, &n);
    g_assert_cmpint (n, ==, 3);
    const int64_t params[] = {1000, 2000, 3000};
    const double vals[] = {20, 40, 60};
    for (int k = 0; k < 3; k++) {
        g_assert_cmpint (best[k].dendrites, ==, k);
        g_assert_cmpint (best[k].params, ==, params[k]);
        g_assert_cmpfloat (best[k].best_val, ==, vals[k]);
        g_assert_cmpfloat (best[k].test_at_best, ==, vals[k] - 1);
    }
    g_assert_cmpint (best[0].epoch, ==, 1);
    g_assert_cmpint (best[2].epoch, ==, 5);

    /* max_dendrites 0: the first switch ends training */
    dn_tracker_list_set (&c.max_dendrites, 0);
    g_autoptr (DnTracker) t0 = make (&c, NULL, 0.1);
    g_assert_cmpint (feed_n (t0, cycles[0], 4, &a), ==, DN_TRACKER_COMPLETE);
    g_assert_cmpint (a.done, ==, DN_TRACKER_DONE_MAX_DENDRITES);
    g_assert_cmpint (dn_tracker_dendrites (t0), ==, 0);
}

static void test_minimising (void)
{
    DnTrackerConfig c = defaults ();
    c.maximizing_score = FALSE;
    dn_tracker_list_set (&c.n_epochs_to_switch, 3);
    g_autoptr (DnTracker) t = make (&c, NULL, 0.1);
    DnTrackerAction a;
    /* 0.7995 is not 0.1 % below 0.8, so it does not count */
    const double loss[] = {1.0, 0.9, 0.8, 0.7995, 0.85, 0.8};
    g_assert_cmpint (feed_n (t, loss, 6, &a), ==, DN_TRACKER_ADD_DENDRITES);
    g_assert_cmpint (a.restored_epoch, ==, 2);
    g_assert_true (row (t, 2)->new_best);
    g_assert_nonnull (strstr (a.message, "no improvement for 3 epochs: restoring epoch 3"));
    /* a set that lowers the loss is kept; a rising loss is not an improvement */
    const double loss1[] = {0.7, 0.75, 0.72, 0.71};
    g_assert_cmpint (feed_n (t, loss1, 4, &a), ==, DN_TRACKER_ADD_DENDRITES);
    g_assert_cmpint (a.restored_epoch, ==, 3);

    /* A loss of exactly 0 is a real best (the reference would treat it as
     * "no best yet" and never switch). */
    g_autoptr (DnTracker) z = make (&c, NULL, 0.1);
    const double zero[] = {0.5, 0.0, 0.0, 0.0, 0.0};
    g_assert_cmpint (feed_n (z, zero, 5, &a), ==, DN_TRACKER_ADD_DENDRITES);
    g_assert_cmpint (a.epoch, ==, 4);
    DnTrackerMarkers m;
    dn_tracker_get_markers (z, &m);
    g_assert_true (m.has_global_best);
    g_assert_cmpfloat (m.global_best, ==, 0.0);
}

static void test_no_dendrites (void)
{
    /* doing_pai = false: early stopping with patience n_epochs_to_switch */
    DnTrackerConfig c = defaults ();
    c.doing_pai = FALSE;
    g_autoptr (DnTracker) t = make (&c, NULL, 0.1);
    DnTrackerAction a;
    for (int epoch = 0; epoch < 24; epoch++) {
        feed (t, rising_then_flat (epoch), &a);
        g_assert_cmpint (a.decision, ==, DN_TRACKER_CONTINUE);
        if (epoch == 17) {
            g_autofree char *status = dn_tracker_status_text (t);
            g_assert_cmpstr (status, ==,
                             "no dendrites (baseline), 3 epochs without improvement, "
                             "stopping in 7");
        }
    }
    feed (t, rising_then_flat (24), &a);
    g_assert_cmpint (a.decision, ==, DN_TRACKER_COMPLETE);
    g_assert_cmpint (a.done, ==, DN_TRACKER_DONE_EARLY_STOPPING);
    g_assert_cmpstr (a.message, ==,
                     "no improvement for 10 epochs: restoring epoch 15 (best 64); training "
                     "complete: early stopping, no dendrites");
    assert_ops (&a, "graphs before_final pre, restore best_model@14/k0, clean final_clean_pai, "
                    "save latest");
    g_assert_cmpint (dn_tracker_dendrites (t), ==, 0);
    g_assert_cmpint (n_rows (t), ==, 15);
    g_autofree char *status = dn_tracker_status_text (t);
    g_assert_cmpstr (status, ==, "training complete: early stopping kept epoch 15");
    int n;
    g_autofree DnTrackerArchScore *best = dn_tracker_best_scores (t, &n);
    g_assert_cmpint (n, ==, 1);
    g_assert_cmpfloat (best[0].best_val, ==, 64);
    g_assert_cmpfloat (best[0].test_at_best, ==, 64); /* no test split: the validation score */
}

static void test_capacity (void)
{
    /* off by default (the reference's default is on) */
    DnTrackerConfig c = defaults ();
    g_assert_false (c.testing_dendrite_capacity);

    c.testing_dendrite_capacity = TRUE;
    g_autoptr (DnTracker) t = make (&c, NULL, 0.1);
    DnTrackerAction a;
    /* three sets at the first three epochs, whatever the scores do */
    const double vals[] = {50, 40, 45, 30};
    for (int i = 0; i < 3; i++) {
        feed (t, vals[i], &a);
        g_assert_cmpint (a.decision, ==, DN_TRACKER_ADD_DENDRITES);
        g_assert_cmpint (a.dendrites, ==, i + 1);
    }
    feed (t, vals[3], &a);
    g_assert_cmpint (a.decision, ==, DN_TRACKER_COMPLETE);
    g_assert_cmpint (a.done, ==, DN_TRACKER_DONE_CAPACITY_TEST);
    g_assert_true (a.complete);
    g_assert_false (a.restructured); /* the reference returns (net, false, true) */
    g_assert_cmpint (a.restored_epoch, ==, -1);
    g_assert_cmpint (a.dendrites, ==, 3);
    g_assert_nonnull (strstr (a.message, "no problems were detected"));
    g_assert_nonnull (strstr (a.message, "3 dendrite sets were added by epoch 4"));
    assert_ops (&a, "save best_model, save latest");
    g_autofree char *status = dn_tracker_status_text (t);
    g_assert_cmpstr (status, ==, "capacity test complete: no problems were detected");
    /* the user's configuration is kept as given; the overrides only apply */
    g_assert_cmpint (dn_tracker_get_config (t)->switch_mode, ==, DN_TRACKER_SWITCH_HISTORY);
}

/* ---- the LR sweep ---- */

static void test_lr_sweep (void)
{
    DnTrackerConfig c = sweep_config ();
    DnSchedConfig sched = step_sched ();
    g_autoptr (DnTracker) t = make (&c, &sched, 1.0);
    DnTrackerAction a;
    int call = 0;
    /* cycle 0: committed to the base rate; the tracker steps StepLR itself */
    for (; call < 9; call++) {
        feed (t, sweep_script[call], &a);
        g_assert_cmpint (a.decision, ==, DN_TRACKER_CONTINUE);
    }
    g_assert_cmpfloat (row (t, 2)->lr, ==, 1.0);
    g_assert_cmpfloat (row (t, 3)->lr, ==, 0.5); /* stepped after epochs 1 and 2 */
    feed (t, sweep_script[call++], &a);
    g_assert_cmpint (a.decision, ==, DN_TRACKER_ADD_DENDRITES);
    g_assert_cmpfloat (a.lr, ==, 1.0); /* a fresh schedule for the new set */
    DnTrackerStatus st;
    dn_tracker_get_status (t, &st);
    g_assert_true (st.sweep_blocking); /* cycle 0 lowered the rate twice by its best epoch */
    g_autofree char *status = dn_tracker_status_text (t);
    g_assert_nonnull (strstr (status, "switching after the learning-rate sweep decides"));
    /* what it tries, in numbers */
    g_assert_nonnull (strstr (status, "trying the usual start (lr 1), trial 1; decides"));

    /* trial 0: after two decrements, save it and restart from switch_2 one step lower */
    for (int i = 0; i < 3; i++, call++) {
        feed (t, sweep_script[call], &a);
        g_assert_cmpint (a.decision, ==, DN_TRACKER_CONTINUE);
    }
    feed (t, sweep_script[call++], &a);
    g_assert_cmpint (a.decision, ==, DN_TRACKER_RESTART_LR);
    assert_ops (&a, "save best_model, graphs _PBCount_1_startSteps_0 ts pre, "
                    "save PBCount_1_startSteps_0, restore switch_2@5/k1, save latest");
    g_assert_true (a.rebuild_optimizer);
    g_assert_true (a.restructured);
    g_assert_cmpfloat (a.lr, ==, 0.5);
    g_assert_cmpint (dn_tracker_dendrites (t), ==, 1);
    g_assert_cmpint (n_rows (t), ==, 6);
    g_assert_nonnull (strstr (a.message, "restoring epoch 6 to start 1 step lower"));
    g_autofree char *trying = dn_tracker_status_text (t);
    g_test_message ("%s", trying);
    g_assert_nonnull (strstr (trying, "trying a start 1 step lower (lr 0.5), trial 2; decides"));

    /* trial 1: at its first decrement it is at least as good: keep sweeping */
    feed (t, sweep_script[call++], &a);
    feed (t, sweep_script[call++], &a);
    g_assert_cmpint (a.decision, ==, DN_TRACKER_CONTINUE);
    g_assert_nonnull (strstr (a.message, "trying lower"));
    feed (t, sweep_script[call++], &a);
    feed (t, sweep_script[call++], &a);
    g_assert_cmpint (a.decision, ==, DN_TRACKER_RESTART_LR);
    assert_ops (&a, "save best_model, graphs _PBCount_1_startSteps_1 ts pre, "
                    "save PBCount_1_startSteps_1, restore switch_2@5/k1, save latest");
    g_assert_cmpfloat (a.lr, ==, 0.25);

    /* trial 2 is worse than trial 1: go back to trial 1's end and pick it */
    feed (t, sweep_script[call++], &a);
    g_assert_cmpint (a.decision, ==, DN_TRACKER_CONTINUE);
    feed (t, sweep_script[call++], &a);
    g_assert_cmpint (a.decision, ==, DN_TRACKER_RESTART_LR);
    assert_ops (&a, "graphs _PBCount_1_startSteps_2 ts pre, save PBCount_1_startSteps_2, "
                    "restore PBCount_1_startSteps_1@9/k1, graphs _PBCount_1_startSteps_1PICKED ts, "
                    "save PBCount_1_startSteps_1, save latest");
    g_assert_cmpint (a.restored_epoch, ==, 9);
    g_assert_cmpfloat (a.lr, ==, 0.125); /* one step pre-applied, four epochs replayed */
    g_assert_nonnull (strstr (a.message, "worse than 67; going back to epoch 10"));
    g_assert_cmpint (n_rows (t), ==, 10);
    g_assert_cmpfloat (row (t, 6)->val, ==, 63);
    g_assert_cmpfloat (row (t, 9)->val, ==, 67);
    dn_tracker_get_status (t, &st);
    g_assert_false (st.sweep_blocking);

    /* the picked trial continues, committed; patience switches as usual */
    for (int i = 0; i < 4; i++, call++) {
        feed (t, sweep_script[call], &a);
        g_assert_cmpint (a.decision, ==, DN_TRACKER_CONTINUE);
    }
    feed (t, sweep_script[call++], &a);
    g_assert_cmpint (call, ==, (int) G_N_ELEMENTS (sweep_script));
    g_assert_cmpint (a.decision, ==, DN_TRACKER_ADD_DENDRITES);
    g_assert_cmpstr (a.message, ==,
                     "no improvement for 4 epochs: restoring epoch 10 and adding dendrite set 2");
    g_assert_cmpint (a.restored_epoch, ==, 9);
    /* 10 + 4 + 4 + 2 sweep epochs were discarded or rewound, and 5 more */
    g_assert_cmpint (dn_tracker_total_epochs (t), ==, 25);
    g_assert_cmpint (dn_tracker_overwritten_epochs (t), ==, 15);
    DnTrackerRollback r;
    g_assert_true (dn_tracker_get_rollback (t, 1, &r));
    g_assert_cmpint (r.kind, ==, DN_TRACKER_ROLLBACK_SWEEP);
    g_assert_cmpint (r.first_epoch, ==, 6);
    g_assert_cmpint (r.n_rows, ==, 4);
    g_assert_cmpfloat (r.rows[3].val, ==, 64);

    /* A tie favours the lower starting rate: with trial 2 as good as
     * trial 1, trial 2 is picked where its budget ends, without a reload. */
    g_autoptr (DnTracker) tie = make (&c, &sched, 1.0);
    feed_n (tie, sweep_script, 18, &a);
    g_assert_cmpint (a.decision, ==, DN_TRACKER_RESTART_LR);
    feed (tie, 63, &a);
    feed (tie, 67, &a);
    g_assert_cmpint (a.decision, ==, DN_TRACKER_RESTART_LR);
    assert_ops (&a, "graphs _PBCount_1_startSteps_2PICKED ts, save PBCount_1_startSteps_2, "
                    "save latest");
    g_assert_cmpint (a.restored_epoch, ==, -1);
    g_assert_nonnull (strstr (a.message, "at least as good as 67; keeping it"));

    /* Without a scheduler there is nothing to sweep and no block. */
    g_autoptr (DnTracker) plain = make (&c, NULL, 1.0);
    g_assert_cmpint (feed_n (plain, sweep_script, 10, &a), ==, DN_TRACKER_ADD_DENDRITES);
    dn_tracker_get_status (plain, &st);
    g_assert_false (st.sweep_blocking);
    g_assert_cmpfloat (a.lr, ==, 1.0);

    /* find_best_lr off: no trials, the schedule just restarts per set */
    c.find_best_lr = FALSE;
    g_autoptr (DnTracker) off = make (&c, &sched, 1.0);
    for (guint i = 0; i < 18; i++) {
        feed (off, sweep_script[i], &a);
        g_assert_cmpint (a.decision, !=, DN_TRACKER_RESTART_LR);
    }
}

static void test_plateau_direction (void)
{
    /* ReduceLROnPlateau follows maximizing_score whatever its "mode" says */
    DnTrackerConfig c = defaults ();
    dn_tracker_list_set (&c.n_epochs_to_switch, 100);
    c.find_best_lr = FALSE;
    DnSchedConfig s;
    dn_sched_config_defaults (&s, DN_SCHED_PLATEAU);
    s.mode_max = FALSE;
    s.patience = 1;
    s.factor = 0.5;
    g_autoptr (DnTracker) t = make (&c, &s, 1.0);
    DnTrackerAction a;
    const double rising[] = {10, 20, 30, 40, 50, 60};
    feed_n (t, rising, 6, &a);
    g_assert_cmpfloat (a.lr, ==, 1.0); /* rising accuracy is no plateau */
    const double flat[] = {60, 60, 60};
    feed_n (t, flat, 3, &a);
    g_assert_cmpfloat (a.lr, ==, 0.5);
}

/* ---- inputs ---- */

static void test_extras_and_errors (void)
{
    DnTrackerConfig c = defaults ();
    g_autoptr (DnTracker) t = make (&c, NULL, 0.1);
    g_autoptr (GError) error = NULL;
    const char *names[] = {"Train", "Train loss"};
    g_assert_true (dn_tracker_set_extra_names (t, names, 2, &error));
    g_assert_cmpint (dn_tracker_n_extra (t), ==, 2);
    g_assert_cmpstr (dn_tracker_extra_name (t, 1), ==, "Train loss");
    g_assert_null (dn_tracker_extra_name (t, 2));

    DnTrackerAction a;
    const double extra[] = {97.5, 0.08};
    DnTrackerScores s = {
        .val = 95, .test = 94, .extra = extra, .n_extra = 2, .seconds = 3.5, .params = 7};
    g_assert_true (dn_tracker_add_score (t, &s, &a, &error));
    const DnTrackerEpoch *r = row (t, 0);
    g_assert_cmpfloat (r->extra[0], ==, 97.5);
    g_assert_cmpfloat (r->extra[1], ==, 0.08);
    g_assert_cmpfloat (r->test, ==, 94);
    g_assert_cmpfloat (r->seconds, ==, 3.5);
    g_assert_cmpfloat (r->lr, ==, 0.1);
    g_assert_cmpint (r->params, ==, 7);

    /* wrong number of extras: an error and nothing recorded */
    s.n_extra = 1;
    g_assert_false (dn_tracker_add_score (t, &s, &a, &error));
    g_assert_error (error, DN_ERROR, DN_ERROR_CONFIG);
    g_assert_nonnull (strstr (error->message, "epoch 2 has 1 extra scores but 2 series"));
    g_clear_error (&error);
    s.n_extra = 2;
    s.val = NAN;
    g_assert_false (dn_tracker_add_score (t, &s, &a, &error));
    g_assert_error (error, DN_ERROR, DN_ERROR_NUMERIC);
    g_clear_error (&error);
    s.val = INFINITY;
    g_assert_false (dn_tracker_add_score (t, &s, &a, &error));
    g_clear_error (&error);
    g_assert_cmpint (n_rows (t), ==, 1);
    g_assert_cmpint (dn_tracker_total_epochs (t), ==, 1);

    /* names are fixed once scores arrive */
    g_assert_false (dn_tracker_set_extra_names (t, names, 1, &error));
    g_clear_error (&error);
    g_autoptr (DnTracker) t2 = make (&c, NULL, 0.1);
    const char *many[] = {"a", "b", "c", "d", "e", "f", "g", "h", "i"};
    g_assert_false (dn_tracker_set_extra_names (t2, many, 9, &error));
    g_clear_error (&error);
    const char *empty[] = {""};
    g_assert_false (dn_tracker_set_extra_names (t2, empty, 1, &error));
}

int main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    g_test_add_func ("/engine/tracker/switch/patience", test_switch_patience);
    g_test_add_func ("/engine/tracker/score/running-lookback", test_running_lookback);
    g_test_add_func ("/engine/tracker/score/thresholds", test_thresholds);
    g_test_add_func ("/engine/tracker/switch/every-epoch", test_switch_every_epoch);
    g_test_add_func ("/engine/tracker/switch/fixed", test_switch_fixed);
    g_test_add_func ("/engine/tracker/switch/never", test_switch_never);
    g_test_add_func ("/engine/tracker/rollback/history", test_rollback_history);
    g_test_add_func ("/engine/tracker/retry/exhausted", test_retries);
    g_test_add_func ("/engine/tracker/retry/reloaded", test_retries_reloaded);
    g_test_add_func ("/engine/tracker/complete/max-dendrites", test_max_dendrites);
    g_test_add_func ("/engine/tracker/score/minimising", test_minimising);
    g_test_add_func ("/engine/tracker/complete/early-stopping", test_no_dendrites);
    g_test_add_func ("/engine/tracker/complete/capacity-test", test_capacity);
    g_test_add_func ("/engine/tracker/lr-sweep/trials", test_lr_sweep);
    g_test_add_func ("/engine/tracker/lr-sweep/plateau-direction", test_plateau_direction);
    g_test_add_func ("/engine/tracker/input/extras-and-errors", test_extras_and_errors);
    return g_test_run ();
}
