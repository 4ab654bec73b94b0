/* test-tracker-pb.c: the tracker's side of Perforated Backpropagation: the
 * dendrite phase (start, phase-end rule, install), retries and limits, the
 * settings, resume and copy inside a phase, and the files and charts. */
#include "dn-chart.h"
#include "dn-run-files.h"
#include "dn-tracker-test.h"

#include <json-glib/json-glib.h>

/* PB on, patience 3, no checkpoint ops but the ones that decide. */
static DnTrackerConfig pb_config (void)
{
    DnTrackerConfig c = defaults ();
    c.perforated_backpropagation = TRUE;
    dn_tracker_list_set (&c.n_epochs_to_switch, 3);
    c.test_saves = FALSE;
    return c;
}

static void set_scores (DnTracker *t, const double *scores, int n)
{
    const char *names[] = {"conv2"};
    const double *channels[] = {scores};
    dn_tracker_set_candidate_scores (t, names, channels, &n, 1);
}

/* One dendrite-phase epoch of layer conv2 with one channel. */
static void feed_p (DnTracker *t, double val, double score, DnTrackerAction *a)
{
    set_scores (t, &score, 1);
    feed (t, val, a);
}

/* Neuron phase 0: 50..54 over rows 0..4, then 54 until the patience runs out
 * at row 7, which restores row 4 and starts the first dendrite phase. */
static void to_first_phase (DnTracker *t, DnTrackerAction *a)
{
    for (int e = 0; e < 8; e++)
        feed (t, e < 5 ? 50 + e : 54, a);
}

static gboolean has_op (const DnTrackerAction *a, DnTrackerOpKind kind)
{
    for (int i = 0; i < a->n_ops; i++)
        if (a->ops[i].kind == kind)
            return TRUE;
    return FALSE;
}

/* The row at which the first phase ends when conv2's single channel scores
 * seq[0], seq[1], ... ; -1 if it has not ended after them. */
static int phase_end_row (const DnTrackerConfig *c, const double *seq, int n)
{
    g_autoptr (DnTracker) t = make (c, NULL, 0.1);
    DnTrackerAction a;
    to_first_phase (t, &a);
    for (int i = 0; i < n; i++) {
        feed_p (t, 54, seq[i], &a);
        if (has_op (&a, DN_TRACKER_OP_END_DENDRITE_PHASE))
            return a.epoch;
    }
    return -1;
}

static void test_start (void)
{
    DnTrackerConfig c = pb_config ();
    g_autoptr (DnTracker) t = make (&c, NULL, 0.1);
    DnTrackerAction a;
    to_first_phase (t, &a);
    g_assert_cmpint (a.decision, ==, DN_TRACKER_ADD_DENDRITES);
    assert_ops (&a, "graphs _beforeSwitch_0 pre, restore best_model@4/k0, start phase/k0");
    g_assert_true (a.restructured);
    g_assert_true (a.rebuild_optimizer);
    g_assert_cmpint (a.dendrites, ==, 0); /* candidates are not a set yet */
    g_assert_nonnull (strstr (a.message, "starting a dendrite phase for dendrite set 1"));
    DnTrackerStatus st;
    dn_tracker_get_status (t, &st);
    g_assert_cmpint (st.mode, ==, DN_TRACKER_MODE_DENDRITE);

    /* the validation score is drawn but judges nothing: a better one moves no best */
    DnTrackerMarkers before;
    dn_tracker_get_markers (t, &before);
    feed_p (t, 99, 0.01, &a);
    g_assert_false (a.new_best);
    g_assert_cmpint (row (t, 5)->mode, ==, DN_TRACKER_MODE_DENDRITE);
    g_assert_cmpfloat (row (t, 5)->val, ==, 99);
    g_assert_cmpfloat (row (t, 5)->running, ==, row (t, 4)->running);
    g_assert_true (row (t, 5)->pb_improved);
    DnTrackerMarkers after;
    dn_tracker_get_markers (t, &after);
    g_assert_cmpfloat (after.global_best, ==, before.global_best);
    g_assert_cmpint (after.global_best_epoch, ==, before.global_best_epoch);

    g_autofree char *status = dn_tracker_status_text (t);
    g_assert_cmpstr (status, ==,
                     "dendrite phase, 0 dendrite sets, training candidates for set 1, 0 epochs "
                     "without improvement, ending in 2");
}

static void test_end_message_and_lines (void)
{
    DnTrackerConfig c = pb_config ();
    c.pai_improvement_threshold_raw = 0;
    g_autoptr (DnTracker) t = make (&c, NULL, 0.1);
    DnTrackerAction a;
    to_first_phase (t, &a);
    feed_p (t, 54, 0.01, &a);   /* row 5: first score, improved */
    feed_p (t, 54, 0.0105, &a); /* row 6: +5 % */
    g_autofree char *status = dn_tracker_status_text (t);
    g_assert_cmpstr (status, ==,
                     "dendrite phase, 0 dendrite sets, training candidates for set 1, 1 epoch "
                     "without improvement, ending in 1");
    feed_p (t, 54, 0.0108, &a); /* row 7: ends */
    g_assert_cmpint (a.decision, ==, DN_TRACKER_CONTINUE);
    assert_ops (&a, "end phase 1, save switch_2");
    g_assert_true (a.restructured);
    g_assert_true (a.rebuild_optimizer);
    g_assert_cmpint (a.dendrites, ==, 1);
    g_assert_cmpstr (a.message, ==,
                     "dendrite phase: conv2's candidates reached correlation 0.0108, no channel "
                     "improved by 10 % for 2 epochs; installing dendrite set 1");
    g_assert_cmpint (dn_tracker_n_events (t), ==, 2);

    int n = 0;
    g_autofree int *epochs = dn_tracker_compat_switch_epochs (t, &n);
    g_assert_cmpint (n, ==, 2);
    g_assert_cmpint (epochs[0], ==, 4); /* red: restored row */
    g_assert_cmpint (epochs[1], ==, 7); /* blue: the phase's last row */
    const DnTrackerSwitch *sw = dn_tracker_switches (t, &n);
    g_assert_cmpint (n, ==, 1);
    g_assert_cmpint (sw[0].end_epoch, ==, 7);
    g_assert_cmpint (sw[0].params, ==, -1);
    feed (t, 55, &a); /* the first neuron epoch reports the grown count */
    g_assert_cmpint (row (t, 8)->mode, ==, DN_TRACKER_MODE_NEURON);
    g_assert_cmpint (row (t, 8)->dendrites, ==, 1);
    sw = dn_tracker_switches (t, &n);
    g_assert_cmpint (sw[0].params, ==, 2000);
    g_autofree int64_t *params = dn_tracker_compat_param_counts (t, &n);
    g_assert_cmpint (n, ==, 3);
    g_assert_cmpint (params[0], ==, 1000);
    g_assert_cmpint (params[2], ==, 2000);

    const char *name = NULL;
    double ever = 0, phase = 0;
    g_assert_cmpint (dn_tracker_n_candidate_layers (t), ==, 1);
    g_assert_true (dn_tracker_candidate_layer_scores (t, 0, &name, &ever, &phase));
    g_assert_cmpstr (name, ==, "conv2");
    g_assert_cmpfloat (ever, ==, 0.0108);
    g_assert_cmpfloat (phase, ==, 0.0108);
    g_assert_false (dn_tracker_candidate_layer_scores (t, 1, &name, &ever, &phase));
    /* neuron rows carry the best ever, not a phase best */
    g_assert_cmpfloat (row (t, 8)->pb_best_ever[0], ==, 0.0108);
    g_assert_true (isnan (row (t, 8)->pb_phase_best[0]));
}

/* The relative threshold alone (raw 0), then the absolute one alone (relative 0). */
static void test_thresholds (void)
{
    DnTrackerConfig c = pb_config ();
    c.pai_improvement_threshold_raw = 0;
    const double small_steps[] = {0.01, 0.0105, 0.0109, 0.0113, 0.0118};
    g_assert_cmpint (phase_end_row (&c, small_steps, 5), ==, 7);
    const double step_20[] = {0.01, 0.012, 0.0125, 0.013, 0.0135};
    g_assert_cmpint (phase_end_row (&c, step_20, 5), ==, 8);
    c.pai_improvement_threshold = 0.01; /* now +4 % is an improvement */
    g_assert_cmpint (phase_end_row (&c, small_steps, 5), ==, -1);

    c = pb_config ();
    c.pai_improvement_threshold = 0;
    c.pai_improvement_threshold_raw = 1e-3;
    const double tiny[] = {0.01, 0.0105, 0.0109, 0.0112};
    g_assert_cmpint (phase_end_row (&c, tiny, 4), ==, 7);
    const double raw_step[] = {0.01, 0.0115, 0.012, 0.0125, 0.013};
    g_assert_cmpint (phase_end_row (&c, raw_step, 5), ==, 8);
    /* both: +50 % of a tiny score is still under the absolute threshold */
    c.pai_improvement_threshold = 0.1;
    const double tiny_rel[] = {1e-4, 1.5e-4, 2.25e-4, 3.4e-4};
    g_assert_cmpint (phase_end_row (&c, tiny_rel, 4), ==, 7);
    /* equal scores never improve; a first score always does */
    const double flat[] = {0.0, 0.0, 0.0};
    g_assert_cmpint (phase_end_row (&c, flat, 3), ==, 7);
}

static void test_p_epochs (void)
{
    DnTrackerConfig c = pb_config ();
    const double seq[] = {0.01, 0.02, 0.02, 0.02, 0.02, 0.02};
    c.p_epochs_to_switch = 1;
    g_assert_cmpint (phase_end_row (&c, seq, 6), ==, 7);
    c.p_epochs_to_switch = 2;
    g_assert_cmpint (phase_end_row (&c, seq, 6), ==, 8);
    c.p_epochs_to_switch = 3;
    g_assert_cmpint (phase_end_row (&c, seq, 6), ==, 9);
}

static void test_cap_at_n (void)
{
    /* always improving: without the cap the phase would not end; the neuron
     * phase before it trained 8 epochs (rows 0..7), so rows 5..12 are its length */
    double seq[12];
    for (int i = 0; i < 12; i++)
        seq[i] = 0.01 * (1 << i);
    DnTrackerConfig c = pb_config ();
    g_assert_cmpint (phase_end_row (&c, seq, 12), ==, -1);
    c.cap_at_n = TRUE;
    g_assert_cmpint (phase_end_row (&c, seq, 12), ==, 12);

    g_autoptr (DnTracker) t = make (&c, NULL, 0.1);
    DnTrackerAction a;
    to_first_phase (t, &a);
    for (int i = 0; i < 8; i++)
        feed_p (t, 54, seq[i], &a);
    g_assert_nonnull (strstr (a.message, "cap_at_n, 8 epochs"));
}

/* Phase, a neuron phase that does not beat 54, a fresh phase, and stop. */
static void test_retry_and_give_up (void)
{
    DnTrackerConfig c = pb_config ();
    g_autoptr (DnTracker) t = make (&c, NULL, 0.1);
    DnTrackerAction a;
    to_first_phase (t, &a);
    for (int attempt = 0; attempt < 2; attempt++) {
        feed_p (t, 54, 0.01, &a);
        feed_p (t, 54, 0.01, &a);
        feed_p (t, 54, 0.01, &a);
        assert_ops (&a, "end phase 1, save switch_2");
        for (int i = 0; i < 3; i++) {
            feed (t, 53, &a);
            g_assert_cmpint (a.decision, ==, DN_TRACKER_CONTINUE);
        }
        feed (t, 53, &a);
        if (attempt == 0) {
            g_assert_cmpint (a.decision, ==, DN_TRACKER_RETRY);
            assert_ops (&a, "graphs _noImprove_lr_0 ts pre, restore best_model@4/k0, "
                            "start phase/k0");
            g_assert_nonnull (strstr (a.message, "attempt 2 of 2 with a fresh dendrite phase"));
            g_assert_cmpint (n_rows (t), ==, 5);
            int n;
            const DnTrackerSwitch *sw = dn_tracker_switches (t, &n);
            g_assert_cmpint (n, ==, 1);
            g_assert_cmpint (sw[0].kind, ==, DN_TRACKER_SWITCH_RETRY);
            g_assert_cmpint (sw[0].end_epoch, ==, -1);
            g_autofree int *epochs = dn_tracker_compat_switch_epochs (t, &n);
            g_assert_cmpint (n, ==, 1);
        }
    }
    g_assert_cmpint (a.decision, ==, DN_TRACKER_COMPLETE);
    g_assert_cmpint (a.done, ==, DN_TRACKER_DONE_NO_IMPROVEMENT);
    assert_ops (&a,
                "graphs _noImprove_lr_0 ts pre, restore best_model@4/k0, clean final_clean_pai");
}

static void test_max_dendrites (void)
{
    DnTrackerConfig c = pb_config ();
    dn_tracker_list_set (&c.max_dendrites, 1);
    g_autoptr (DnTracker) t = make (&c, NULL, 0.1);
    DnTrackerAction a;
    to_first_phase (t, &a);
    for (int i = 0; i < 3; i++)
        feed_p (t, 54, 0.02, &a);
    g_assert_cmpint (a.dendrites, ==, 1);
    /* the set helps: 55..58 over rows 8..11, then flat until the patience runs out */
    for (int i = 0; i < 4; i++)
        feed (t, 55 + i, &a);
    g_assert_true (a.new_best);
    for (int i = 0; i < 3; i++)
        feed (t, 58, &a);
    g_assert_cmpint (a.decision, ==, DN_TRACKER_COMPLETE);
    g_assert_cmpint (a.done, ==, DN_TRACKER_DONE_MAX_DENDRITES);
    assert_ops (&a, "graphs before_final pre, restore best_model@11/k1, clean final_clean_pai");
}

/* Error cases of a dendrite-phase epoch: nothing is recorded. */
static void test_refuse (void)
{
    DnTrackerConfig c = pb_config ();
    g_autoptr (DnTracker) t = make (&c, NULL, 0.1);
    DnTrackerAction a;
    /* in a neuron phase candidate scores are ignored */
    double one = 0.5;
    set_scores (t, &one, 1);
    feed (t, 50, &a);
    g_assert_cmpint (dn_tracker_n_candidate_layers (t), ==, 1);
    g_assert_true (isnan (row (t, 0)->pb_best_ever[0]));
    for (int e = 1; e < 8; e++)
        feed (t, e < 5 ? 50 + e : 54, &a);

    DnTrackerScores s = {.val = 54, .test = NAN, .params = 1000};
    g_autoptr (GError) error = NULL;
    g_assert_false (dn_tracker_add_score (t, &s, &a, &error));
    g_assert_error (error, DN_ERROR, DN_ERROR_CONFIG);
    g_assert_nonnull (strstr (error->message, "epoch 6 is in a dendrite phase"));
    g_assert_nonnull (strstr (error->message, "dn_tracker_set_candidate_scores"));
    g_clear_error (&error);
    g_assert_cmpint (n_rows (t), ==, 5);

    double bad = -0.1;
    set_scores (t, &bad, 1);
    g_assert_false (dn_tracker_add_score (t, &s, &a, &error));
    g_assert_error (error, DN_ERROR, DN_ERROR_NUMERIC);
    g_assert_nonnull (strstr (error->message, "conv2 channel 0"));
    g_clear_error (&error);
    bad = NAN;
    set_scores (t, &bad, 1);
    g_assert_false (dn_tracker_add_score (t, &s, &a, &error));
    g_assert_error (error, DN_ERROR, DN_ERROR_NUMERIC);
    g_clear_error (&error);
    dn_tracker_set_candidate_scores (t, NULL, NULL, NULL, 0);
    g_assert_false (dn_tracker_add_score (t, &s, &a, &error));
    g_assert_nonnull (strstr (error->message, "name no layer"));
    g_clear_error (&error);

    /* the scores of one call serve one epoch; a layer keeps its channels */
    const double two[] = {0.1, 0.2};
    set_scores (t, two, 2);
    g_assert_true (dn_tracker_add_score (t, &s, &a, &error));
    g_assert_false (dn_tracker_add_score (t, &s, &a, &error));
    g_clear_error (&error);
    const double three[] = {0.1, 0.2, 0.3};
    set_scores (t, three, 3);
    g_assert_false (dn_tracker_add_score (t, &s, &a, &error));
    g_assert_nonnull (strstr (error->message, "conv2 has candidate scores for 3 channels, but 2"));
    g_clear_error (&error);
    g_assert_cmpint (n_rows (t), ==, 6);
    /* the layer score is the mean of the channel bests */
    double ever, phase;
    dn_tracker_candidate_layer_scores (t, 0, NULL, &ever, &phase);
    g_assert_cmpfloat_with_epsilon (phase, 0.15, 1e-15);
}

/* A scripted run with phases, retries and two layers, by call. */
static void script_step (DnTracker *t, int call, DnTrackerAction *a)
{
    static const double vals[] = {50, 51, 52, 53, 54, 54, 54, 54};
    DnTrackerStatus st;
    dn_tracker_get_status (t, &st);
    if (st.mode == DN_TRACKER_MODE_DENDRITE) {
        const char *names[] = {"conv1", "fc"};
        double c1[3], c2[2];
        for (int i = 0; i < 3; i++)
            c1[i] = 0.01 * (1 + (call * 7 + i * 3) % 5);
        for (int i = 0; i < 2; i++)
            c2[i] = 0.02 * (1 + (call * 3 + i) % 4);
        const double *ch[] = {c1, c2};
        const int n[] = {3, 2};
        dn_tracker_set_candidate_scores (t, names, ch, n, 2);
    }
    double v = call < 8 ? vals[call] : 54 + ((call * 5) % 7) * 0.5;
    DnTrackerScores s = {.val = v, .test = v - 1, .seconds = 1.0 + call, .params = params_of (t)};
    g_autoptr (GError) error = NULL;
    g_assert_true (dn_tracker_add_score (t, &s, a, &error));
    g_assert_no_error (error);
}

static char *action_text (const DnTrackerAction *a)
{
    g_autofree char *ops = ops_text (a);
    return g_strdup_printf ("%d/%d/%d: %s | %s", a->epoch, a->decision, a->dendrites, ops,
                            a->message);
}

static void test_resume_and_copy (void)
{
    DnTrackerConfig c = pb_config ();
    c.test_saves = TRUE;
    c.p_epochs_to_switch = 2;
    const int calls = 60;
    /* uninterrupted */
    g_autoptr (DnTracker) ref = make (&c, NULL, 0.1);
    GPtrArray *want = g_ptr_array_new_with_free_func (g_free);
    int phase_calls = 0;
    for (int i = 0; i < calls && !dn_tracker_is_complete (ref); i++) {
        DnTrackerStatus st;
        dn_tracker_get_status (ref, &st);
        phase_calls += st.mode == DN_TRACKER_MODE_DENDRITE;
        DnTrackerAction a;
        script_step (ref, i, &a);
        g_ptr_array_add (want, action_text (&a));
    }
    g_assert_cmpint (phase_calls, >=, 6);
    g_autofree char *ref_state = dn_tracker_state_to_string (ref);

    /* resumed (and copied) after every call that leaves the tracker in a phase */
    int resumed = 0;
    for (int split = 1; split < (int) want->len; split++) {
        g_autoptr (DnTracker) first = make (&c, NULL, 0.1);
        DnTrackerAction a;
        for (int i = 0; i < split; i++)
            script_step (first, i, &a);
        DnTrackerStatus st;
        dn_tracker_get_status (first, &st);
        if (st.mode != DN_TRACKER_MODE_DENDRITE)
            continue;
        resumed++;
        g_autofree char *text = dn_tracker_state_to_string (first);
        g_autoptr (GError) error = NULL;
        g_autoptr (DnTracker) second = dn_tracker_state_from_string (text, &error);
        g_assert_no_error (error);
        g_autoptr (DnTracker) copy = dn_tracker_copy (first);
        g_autofree char *copy_text = dn_tracker_state_to_string (copy);
        g_assert_cmpstr (copy_text, ==, text);
        DnTracker *both[] = {second, copy};
        for (int w = 0; w < 2; w++) {
            for (int i = split; i < (int) want->len; i++) {
                script_step (both[w], i, &a);
                g_autofree char *got = action_text (&a);
                g_assert_cmpstr (got, ==, g_ptr_array_index (want, i));
            }
            g_autofree char *end = dn_tracker_state_to_string (both[w]);
            g_assert_cmpstr (end, ==, ref_state);
        }
        /* the original goes on unchanged by its copy */
        script_step (first, split, &a);
        g_autofree char *got = action_text (&a);
        g_assert_cmpstr (got, ==, g_ptr_array_index (want, split));
    }
    g_assert_cmpint (resumed, >=, 6);
    g_ptr_array_unref (want);
}

/* A damaged PB state is refused, naming what is wrong. */
static void test_load_errors (void)
{
    DnTrackerConfig c = pb_config ();
    g_autoptr (DnTracker) t = make (&c, NULL, 0.1);
    DnTrackerAction a;
    to_first_phase (t, &a);
    feed_p (t, 54, 0.01, &a);
    g_autofree char *text = dn_tracker_state_to_string (t);
    g_assert_nonnull (strstr (text, "\"mode\":1"));
    g_autofree char *bad_mode = g_strdup (text);
    memcpy (strstr (bad_mode, "\"mode\":1"), "\"mode\":7", 8);
    g_autoptr (GError) error = NULL;
    g_assert_null (dn_tracker_state_from_string (bad_mode, &error));
    g_assert_nonnull (strstr (error->message, "neither neuron nor dendrite"));
    g_clear_error (&error);
    g_autofree char *bad_channel = g_strdup (text);
    char *at = strstr (bad_channel, "\"channel_best\":[0.01");
    g_assert_nonnull (at);
    memcpy (at, "\"channel_best\":[-0.1", 20);
    g_assert_null (dn_tracker_state_from_string (bad_channel, &error));
    g_assert_nonnull (strstr (error->message, "candidates[0].channel_best[0]"));
}

static void test_config (void)
{
    DnTrackerConfig c = defaults ();
    g_assert_false (c.perforated_backpropagation);
    g_assert_cmpint (c.p_epochs_to_switch, ==, 2);
    g_assert_cmpfloat (c.pai_improvement_threshold, ==, 0.1);
    g_assert_cmpfloat (c.pai_improvement_threshold_raw, ==, 1e-4);
    g_assert_false (c.cap_at_n);

    g_autoptr (JsonParser) p = json_parser_new ();
    g_assert_true (json_parser_load_from_data (
        p,
        "{\"perforated_backpropagation\": true, \"p_epochs_to_switch\": 3, "
        "\"pai_improvement_threshold\": 0.25, \"pai_improvement_threshold_raw\": 0, "
        "\"cap_at_n\": true}",
        -1, NULL));
    g_autoptr (GError) error = NULL;
    g_assert_true (
        dn_tracker_config_from_json (json_node_get_object (json_parser_get_root (p)), &c, &error));
    g_assert_no_error (error);
    g_assert_true (c.perforated_backpropagation);
    g_assert_cmpint (c.p_epochs_to_switch, ==, 3);
    g_assert_cmpfloat (c.pai_improvement_threshold, ==, 0.25);
    g_assert_cmpfloat (c.pai_improvement_threshold_raw, ==, 0);
    g_assert_true (c.cap_at_n);

    /* written back, and read again the same */
    g_autoptr (JsonBuilder) b = json_builder_new ();
    dn_tracker_config_to_json (&c, b);
    g_autoptr (JsonNode) root = json_builder_get_root (b);
    JsonObject *o = json_node_get_object (root);
    g_assert_true (json_object_get_boolean_member (o, "perforated_backpropagation"));
    g_assert_cmpint (json_object_get_int_member (o, "p_epochs_to_switch"), ==, 3);
    g_assert_true (json_object_get_boolean_member (o, "cap_at_n"));
    DnTrackerConfig back;
    g_assert_true (dn_tracker_config_from_json (o, &back, &error));
    g_assert_true (back.perforated_backpropagation);
    g_assert_cmpint (back.p_epochs_to_switch, ==, 3);
    g_assert_cmpfloat (back.pai_improvement_threshold, ==, 0.25);
    g_assert_cmpfloat (back.pai_improvement_threshold_raw, ==, 0);
    g_assert_true (back.cap_at_n);
    for (const char *const *k =
             (const char *const[]){"perforated_backpropagation", "p_epochs_to_switch",
                                   "pai_improvement_threshold", "pai_improvement_threshold_raw",
                                   "cap_at_n", NULL};
         *k != NULL; k++)
        g_assert_true (dn_tracker_config_owns_key (*k));

    static const char *const bad[][2] = {
        {"{\"p_epochs_to_switch\": 0}", "p_epochs_to_switch"},
        {"{\"p_epochs_to_switch\": 1.5}", "p_epochs_to_switch"},
        {"{\"pai_improvement_threshold\": -0.1}", "pai_improvement_threshold"},
        {"{\"pai_improvement_threshold_raw\": \"small\"}", "pai_improvement_threshold_raw"},
        {"{\"cap_at_n\": 1}", "cap_at_n"},
        {"{\"perforated_backpropagation\": \"yes\"}", "perforated_backpropagation"},
    };
    for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
        g_autoptr (JsonParser) q = json_parser_new ();
        g_assert_true (json_parser_load_from_data (q, bad[i][0], -1, NULL));
        g_autoptr (GError) e = NULL;
        DnTrackerConfig x = defaults ();
        g_assert_false (
            dn_tracker_config_from_json (json_node_get_object (json_parser_get_root (q)), &x, &e));
        g_assert_error (e, DN_ERROR, DN_ERROR_CONFIG);
        g_test_message ("%s: %s", bad[i][0], e->message);
        g_assert_nonnull (strstr (e->message, bad[i][1]));
    }
    c = pb_config ();
    c.p_epochs_to_switch = 0;
    g_assert_false (dn_tracker_config_validate (&c, &error));
    g_assert_nonnull (strstr (error->message, "p_epochs_to_switch"));
}

/* A short PB run: phase over rows 5..7 (seconds 10, 11, 12), then neuron rows. */
static DnTracker *short_pb_run (void)
{
    DnTrackerConfig c = pb_config ();
    c.pai_improvement_threshold_raw = 0;
    DnTracker *t = make (&c, NULL, 0.1);
    DnTrackerAction a;
    to_first_phase (t, &a);
    /* +6.25 % on channel 0 in row 6 is a new best but no improvement */
    const double scores[][2] = {{0.125, 0.375}, {0.1328125, 0.375}, {0.0625, 0.375}};
    for (int i = 0; i < 3; i++) {
        const char *names[] = {"conv2"};
        const double *ch[] = {scores[i]};
        int n = 2;
        dn_tracker_set_candidate_scores (t, names, ch, &n, 1);
        DnTrackerScores s = {.val = 54, .test = 53, .seconds = 10 + i, .params = 1000};
        g_assert_true (dn_tracker_add_score (t, &s, &a, NULL));
    }
    feed (t, 55, &a);
    return t;
}

static void test_files (void)
{
    g_autoptr (DnTracker) t = short_pb_run ();
    g_autofree char *pb = dn_run_file_pb_scores_text (t, FALSE);
    /* the layer's score is the mean of its channels' bests */
    g_assert_cmpstr (pb, ==,
                     "Epochs,Best ever for all nodes Layer conv2,Best current for all nodes "
                     "Layer conv2\n"
                     "5,0.25,0.25\n"
                     "6,0.25390625,0.25390625\n"
                     "7,0.25390625,0.25390625\n"
                     "8,0.25390625,\n");
    g_autofree char *times = dn_run_file_text (t, DN_RUN_FILE_TIMES, FALSE);
    g_assert_nonnull (strstr (times, "Epochs,Normal Epoch Times,PAI Epoch Times\n"));
    g_assert_nonnull (strstr (times, "\n0,,10.0\n1,,11.0\n2,,12.0\n"));
    g_assert_nonnull (strstr (times, "\n5,2.0,\n")); /* the neuron row after the phase */
    g_autofree char *history = dn_run_file_text (t, DN_RUN_FILE_HISTORY, FALSE);
    g_assert_nonnull (strstr (history, ",p,0,"));

    /* written with the CSV set, only for runs with candidate scores */
    g_autofree char *dir = dn_test_tmpdir ();
    g_autoptr (GError) error = NULL;
    g_assert_true (dn_run_files_write_csvs (t, dir, "PAI", NULL, &error));
    g_assert_no_error (error);
    g_autofree char *path = dn_run_file_pb_scores_path (dir, "PAI", NULL);
    g_assert_true (g_str_has_suffix (path, "PAIBest PBScores.csv"));
    g_autofree char *contents = NULL;
    g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
    g_assert_cmpstr (contents, ==, pb);
    DnTrackerConfig c = defaults ();
    g_autoptr (DnTracker) gd = make (&c, NULL, 0.1);
    DnTrackerAction a;
    feed (gd, 50, &a);
    g_assert_null (dn_run_file_pb_scores_text (gd, FALSE));
    g_assert_true (dn_run_files_write_csvs (gd, dir, "GD", NULL, &error));
    g_autofree char *gd_path = dn_run_file_pb_scores_path (dir, "GD", NULL);
    g_assert_false (g_file_test (gd_path, G_FILE_TEST_EXISTS));
    dn_test_tmpdir_remove (dir);
}

/* Pixels of colour `want` (within a margin) in the column of history row `row`
 * (or a neighbour), over the middle half of the plot's height. */
static int column_hits (cairo_surface_t *s, const DnChartPlotArea *p, double row, guint32 want)
{
    int stride = cairo_image_surface_get_stride (s);
    const unsigned char *data = cairo_image_surface_get_data (s);
    int x0 = (int) (p->x + (row - p->first_row) / (p->last_row - p->first_row) * p->width);
    int best = 0;
    for (int x = x0 - 1; x <= x0 + 1; x++) {
        int hits = 0;
        for (int y = (int) (p->y + p->height * 0.25); y < (int) (p->y + p->height * 0.75); y++) {
            guint32 px = *(const guint32 *) (data + y * stride + 4 * x);
            int r = (px >> 16) & 0xff, g = (px >> 8) & 0xff, b = px & 0xff;
            int wr = (want >> 16) & 0xff, wg = (want >> 8) & 0xff, wb = want & 0xff;
            hits += abs (r - wr) + abs (g - wg) + abs (b - wb) < 90;
        }
        best = MAX (best, hits);
    }
    return best;
}

static void test_chart (void)
{
    g_autoptr (DnTracker) t = short_pb_run ();
    cairo_surface_t *s = cairo_image_surface_create (CAIRO_FORMAT_RGB24, 900, 500);
    cairo_t *cr = cairo_create (s);
    DnChartPlotArea area = {0};
    DnChartStyle style;
    dn_chart_style_init (&style);
    style.plot_area = &area;
    dn_chart_draw (cr, t, DN_CHART_SCORES, 900, 500, &style);
    cairo_surface_flush (s);
    g_assert_true (area.valid);
    /* red at the phase start (row 4), blue at the return (row 7), none at row 2 */
    g_assert_cmpint (column_hits (s, &area, 4, 0xc01c28), >, 20);
    g_assert_cmpint (column_hits (s, &area, 7, 0x1c71d8), >, 20);
    g_assert_cmpint (column_hits (s, &area, 7, 0xc01c28), <, 5);
    g_assert_cmpint (column_hits (s, &area, 2, 0xc01c28), <, 5);
    cairo_destroy (cr);
    cairo_surface_destroy (s);

    g_autofree char *desc = dn_chart_describe (t, DN_CHART_CORRELATION);
    g_assert_cmpstr (desc, ==, "Candidate correlation: conv2 best 0.2539.");

    g_autofree char *dir = dn_test_tmpdir ();
    g_autoptr (GError) error = NULL;
    g_assert_true (dn_run_files_write_graph (t, dir, "PAI", NULL, &error));
    g_assert_no_error (error);
    g_autofree char *png = g_build_filename (dir, "PAI.png", NULL);
    cairo_surface_t *img = cairo_image_surface_create_from_png (png);
    g_assert_cmpint (cairo_surface_status (img), ==, CAIRO_STATUS_SUCCESS);
    g_assert_cmpint (cairo_image_surface_get_width (img), ==, DN_RUN_FILES_GRAPH_WIDTH);
    cairo_surface_destroy (img);
    dn_test_tmpdir_remove (dir);
}

int main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    g_test_add_func ("/engine/tracker/pb/start", test_start);
    g_test_add_func ("/engine/tracker/pb/end-message-and-lines", test_end_message_and_lines);
    g_test_add_func ("/engine/tracker/pb/thresholds", test_thresholds);
    g_test_add_func ("/engine/tracker/pb/p-epochs-to-switch", test_p_epochs);
    g_test_add_func ("/engine/tracker/pb/cap-at-n", test_cap_at_n);
    g_test_add_func ("/engine/tracker/pb/retry-and-give-up", test_retry_and_give_up);
    g_test_add_func ("/engine/tracker/pb/max-dendrites", test_max_dendrites);
    g_test_add_func ("/engine/tracker/pb/refuse", test_refuse);
    g_test_add_func ("/engine/tracker/pb/resume-and-copy", test_resume_and_copy);
    g_test_add_func ("/engine/tracker/pb/load-errors", test_load_errors);
    g_test_add_func ("/engine/tracker/pb/config", test_config);
    g_test_add_func ("/engine/tracker/pb/files", test_files);
    g_test_add_func ("/engine/tracker/pb/chart", test_chart);
    return g_test_run ();
}
