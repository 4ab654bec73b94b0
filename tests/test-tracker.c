/* test-tracker.c: the dendrite tracker on scripted score sequences (spec
 * perforated-dendrites.md §6): patience, running score, thresholds, switch
 * modes, rollback, retries, limits, minimising, early stopping, the capacity
 * dry run, the LR sweep, messages, history for CSVs and charts, exact resume,
 * and configuration and state errors. */
#include "dn-error.h"
#include "dn-test-util.h"
#include "dn-tracker.h"

#include <math.h>
#include <string.h>

/* ---- helpers ---- */

static DnTrackerConfig defaults (void)
{
    DnTrackerConfig c;
    dn_tracker_config_defaults (&c);
    return c;
}

static DnTracker *make (const DnTrackerConfig *cfg, const DnSchedConfig *sched, double lr)
{
    g_autoptr (GError) error = NULL;
    DnTracker *t = dn_tracker_new (cfg, sched, lr, &error);
    g_assert_no_error (error);
    g_assert_nonnull (t);
    return t;
}

/* The parameter count the engine would report: it grows with the sets. */
static int64_t params_of (const DnTracker *t)
{
    return 1000 * (int64_t) (dn_tracker_dendrites (t) + 1);
}

static void feed_full (DnTracker *t, double val, double test, gboolean force, DnTrackerAction *a)
{
    DnTrackerScores s = {
        .val = val, .test = test, .seconds = 2.0, .params = params_of (t), .force_switch = force};
    g_autoptr (GError) error = NULL;
    gboolean ok = dn_tracker_add_score (t, &s, a, &error);
    g_assert_no_error (error);
    g_assert_true (ok);
}

static void feed (DnTracker *t, double val, DnTrackerAction *a)
{
    feed_full (t, val, NAN, FALSE, a);
}

/* Feeds n scores; returns the decision of the last one. */
static DnTrackerDecision feed_n (DnTracker *t, const double *vals, int n, DnTrackerAction *a)
{
    for (int i = 0; i < n; i++)
        feed (t, vals[i], a);
    return a->decision;
}

/* The ops of an action as text, e.g. "restore best_model@14/k0, add 1, save latest". */
static char *ops_text (const DnTrackerAction *a)
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
        }
    }
    return g_string_free (s, FALSE);
}

#define assert_ops(a, want)                                                                        \
    do {                                                                                           \
        g_autofree char *got_ = ops_text (a);                                                      \
        g_assert_cmpstr (got_, ==, want);                                                          \
    } while (0)

static int n_rows (const DnTracker *t)
{
    int n;
    dn_tracker_epochs (t, &n);
    return n;
}

static const DnTrackerEpoch *row (const DnTracker *t, int i)
{
    int n;
    const DnTrackerEpoch *rows = dn_tracker_epochs (t, &n);
    g_assert_cmpint (i, >=, 0);
    g_assert_cmpint (i, <, n);
    return &rows[i];
}

/* 50, 51, ..., 64 over epochs 0..14, then 60 for ever. */
static double rising_then_flat (int epoch)
{
    return epoch < 15 ? 50.0 + epoch : 60.0;
}

/* ---- configuration ---- */

static void test_config_defaults (void)
{
    DnTrackerConfig c = defaults ();
    g_assert_true (c.doing_pai);
    g_assert_true (c.maximizing_score);
    g_assert_false (c.testing_dendrite_capacity); /* off here, unlike the reference */
    g_assert_cmpint (c.switch_mode, ==, DN_TRACKER_SWITCH_HISTORY);
    g_assert_cmpfloat (dn_tracker_list_at (&c.n_epochs_to_switch, 0), ==, 10);
    g_assert_cmpfloat (dn_tracker_list_at (&c.history_lookback, 0), ==, 1);
    g_assert_cmpfloat (dn_tracker_list_at (&c.initial_history_after_switches, 0), ==, 0);
    g_assert_cmpfloat (dn_tracker_list_at (&c.fixed_switch_num, 0), ==, 250);
    g_assert_cmpfloat (dn_tracker_list_at (&c.first_fixed_switch_num, 0), ==, -1); /* 3.2.9 */
    g_assert_cmpint (c.improvement_threshold.n, ==, 3); /* 3.2.9 */
    g_assert_cmpfloat (dn_tracker_list_at (&c.improvement_threshold, 0), ==, 0.001);
    g_assert_cmpfloat (dn_tracker_list_at (&c.improvement_threshold, 1), ==, 0.0001);
    g_assert_cmpfloat (dn_tracker_list_at (&c.improvement_threshold, 2), ==, 0.0);
    g_assert_cmpfloat (dn_tracker_list_at (&c.improvement_threshold, 7), ==, 0.0);
    g_assert_cmpfloat (dn_tracker_list_at (&c.improvement_threshold_raw, 0), ==, 1e-5);
    g_assert_cmpfloat (dn_tracker_list_at (&c.max_dendrite_tries, 0), ==, 2);
    g_assert_cmpfloat (dn_tracker_list_at (&c.max_dendrites, 0), ==, 100);
    g_assert_false (c.retain_all_dendrites);
    g_assert_true (c.find_best_lr);
    g_assert_true (c.dont_give_up_unless_learning_rate_lowered);
    g_assert_true (c.reset_best_score_on_switch); /* 3.2.9 */
    g_assert_cmpint (c.param_vals_setting, ==, DN_TRACKER_PARAM_VALS_BY_UPDATE_EPOCH);
    g_assert_true (c.save_old_graph_scores);
    g_assert_true (c.test_saves);
    g_assert_cmpfloat (c.num_classes, ==, 1e10);
    g_autoptr (GError) error = NULL;
    g_assert_true (dn_tracker_config_validate (&c, &error));
}

static JsonObject *parse_object (const char *text)
{
    g_autoptr (JsonParser) parser = json_parser_new ();
    g_autoptr (GError) error = NULL;
    json_parser_load_from_data (parser, text, -1, &error);
    g_assert_no_error (error);
    JsonNode *root = json_parser_get_root (parser);
    g_assert_true (JSON_NODE_HOLDS_OBJECT (root));
    return json_object_ref (json_node_get_object (root));
}

static char *config_text (const DnTrackerConfig *c)
{
    g_autoptr (JsonBuilder) b = json_builder_new ();
    dn_tracker_config_to_json (c, b);
    g_autoptr (JsonNode) root = json_builder_get_root (b);
    return json_to_string (root, FALSE);
}

static void test_config_roundtrip (void)
{
    /* The written object documents every setting, defaults included. */
    DnTrackerConfig c = defaults ();
    g_autofree char *text = config_text (&c);
    g_test_message ("defaults: %s", text);
    g_autoptr (JsonObject) obj = parse_object (text);
    g_autoptr (GList) members = json_object_get_members (obj);
    g_assert_cmpint (g_list_length (members), ==, 21);
    for (GList *l = members; l != NULL; l = l->next)
        g_assert_true (dn_tracker_config_owns_key (l->data));
    g_assert_false (json_object_get_boolean_member (obj, "testing_dendrite_capacity"));
    g_assert_cmpstr (json_object_get_string_member (obj, "switch_mode"), ==, "history");
    g_assert_cmpint (json_object_get_int_member (obj, "n_epochs_to_switch"), ==, 10);
    JsonArray *thr = json_object_get_array_member (obj, "improvement_threshold");
    g_assert_cmpint (json_array_get_length (thr), ==, 3);

    /* A changed configuration survives the trip exactly. */
    c.maximizing_score = FALSE;
    c.switch_mode = DN_TRACKER_SWITCH_FIXED;
    const double patience[] = {5, 7, 9};
    dn_tracker_list_set_values (&c.n_epochs_to_switch, patience, 3);
    const double thr3[] = {0.01, 0.001, 0.0};
    dn_tracker_list_set_values (&c.improvement_threshold, thr3, 3);
    dn_tracker_list_set (&c.max_dendrites, 4);
    c.param_vals_setting = DN_TRACKER_PARAM_VALS_BY_TOTAL_EPOCH;
    c.test_saves = FALSE;
    g_autofree char *text2 = config_text (&c);
    g_autoptr (JsonObject) obj2 = parse_object (text2);
    DnTrackerConfig back;
    g_autoptr (GError) error = NULL;
    g_assert_true (dn_tracker_config_from_json (obj2, &back, &error));
    g_assert_no_error (error);
    g_assert_true (memcmp (&back, &c, sizeof c) == 0);

    /* NULL (no "dendrites" section) gives the defaults. */
    DnTrackerConfig d;
    g_assert_true (dn_tracker_config_from_json (NULL, &d, &error));
    DnTrackerConfig want = defaults ();
    g_assert_true (memcmp (&d, &want, sizeof d) == 0);
}

static void test_config_names (void)
{
    /* The reference's names and numbers are accepted; settings other modules
     * own pass through untouched. */
    g_autoptr (JsonObject) obj = parse_object (
        "{\"switch_mode\": \"DOING_FIXED_SWITCH\", \"param_vals_setting\": 0,"
        " \"improvement_threshold\": 0.0001, \"max_dendrite_tries\": [5, 1],"
        " \"pai_forward_function\": \"tanh\", \"candidate_weight_initialization_multiplier\": 0.1,"
        " \"testing_dendrite_capacity\": true}");
    DnTrackerConfig c;
    g_autoptr (GError) error = NULL;
    g_assert_true (dn_tracker_config_from_json (obj, &c, &error));
    g_assert_no_error (error);
    g_assert_cmpint (c.switch_mode, ==, DN_TRACKER_SWITCH_FIXED);
    g_assert_cmpint (c.param_vals_setting, ==, DN_TRACKER_PARAM_VALS_BY_TOTAL_EPOCH);
    g_assert_cmpint (c.improvement_threshold.n, ==, 1);
    g_assert_cmpfloat (dn_tracker_list_at (&c.max_dendrite_tries, 0), ==, 5);
    g_assert_cmpfloat (dn_tracker_list_at (&c.max_dendrite_tries, 3), ==, 1);
    g_assert_true (c.testing_dendrite_capacity);
    g_assert_false (dn_tracker_config_owns_key ("pai_forward_function"));
    g_assert_true (dn_tracker_config_owns_key ("n_epochs_to_switch"));

    g_autoptr (JsonObject) obj2 = parse_object ("{\"switch_mode\": 3}");
    g_assert_true (dn_tracker_config_from_json (obj2, &c, &error));
    g_assert_cmpint (c.switch_mode, ==, DN_TRACKER_SWITCH_NEVER);
}

static void test_config_errors (void)
{
    static const struct {
        const char *json;
        const char *needle; /* the message must contain it */
    } cases[] = {
        {"{\"n_epoch_to_switch\": 5}", "did you mean \"n_epochs_to_switch\""},
        {"{\"colour\": 5}", "\"colour\" is unknown"},
        {"{\"maximizing_score\": \"yes\"}", "\"maximizing_score\" must be true or false"},
        {"{\"n_epochs_to_switch\": 0}", "\"n_epochs_to_switch\" must be a whole number"},
        {"{\"n_epochs_to_switch\": 2.5}", "got 2.5"},
        {"{\"n_epochs_to_switch\": \"ten\"}", "got \"ten\""},
        {"{\"improvement_threshold\": 1.5}",
         "\"improvement_threshold\" must be a number in [0, 1)"},
        {"{\"improvement_threshold\": [0.1, \"x\"]}", "\"improvement_threshold\"[1]"},
        {"{\"improvement_threshold\": []}", "must have 1 to 16 values"},
        {"{\"max_dendrites\": [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17]}", "got 17"},
        {"{\"improvement_threshold_raw\": -1}", "\"improvement_threshold_raw\""},
        {"{\"switch_mode\": \"sometimes\"}", "\"switch_mode\" must be one of"},
        {"{\"switch_mode\": 7}", "\"switch_mode\""},
        {"{\"param_vals_setting\": \"by_mood\"}", "\"param_vals_setting\""},
        {"{\"num_classes\": 0}", "\"num_classes\" must be a number > 0"},
        {"{\"max_dendrite_tries\": -1}", "\"max_dendrite_tries\""},
        {"{\"history_lookback\": null}", "got null"},
        {"{\"test_saves\": {}}", "got an object"},
    };
    for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
        g_autoptr (JsonObject) obj = parse_object (cases[i].json);
        DnTrackerConfig c = defaults (), before = c;
        g_autoptr (GError) error = NULL;
        g_assert_false (dn_tracker_config_from_json (obj, &c, &error));
        g_assert_error (error, DN_ERROR, DN_ERROR_CONFIG);
        if (strstr (error->message, cases[i].needle) == NULL)
            g_error ("%s: message \"%s\" lacks \"%s\"", cases[i].json, error->message,
                     cases[i].needle);
        g_assert_true (memcmp (&c, &before, sizeof c) == 0); /* untouched on error */
    }

    /* A configuration made in code is checked too. */
    DnTrackerConfig c = defaults ();
    dn_tracker_list_set (&c.history_lookback, 0);
    g_autoptr (GError) error = NULL;
    g_assert_null (dn_tracker_new (&c, NULL, 0.1, &error));
    g_assert_error (error, DN_ERROR, DN_ERROR_CONFIG);
    g_assert_nonnull (strstr (error->message, "history_lookback"));
    g_clear_error (&error);
    c = defaults ();
    g_assert_null (dn_tracker_new (&c, NULL, NAN, &error));
    g_assert_error (error, DN_ERROR, DN_ERROR_CONFIG);
}

static void test_config_list_rule (void)
{
    DnTrackerList l;
    const double v[] = {3, 5, 8};
    g_assert_true (dn_tracker_list_set_values (&l, v, 3));
    g_assert_cmpfloat (dn_tracker_list_at (&l, 0), ==, 3);
    g_assert_cmpfloat (dn_tracker_list_at (&l, 1), ==, 5);
    g_assert_cmpfloat (dn_tracker_list_at (&l, 2), ==, 8);
    g_assert_cmpfloat (dn_tracker_list_at (&l, 50), ==, 8);
    g_assert_false (dn_tracker_list_set_values (&l, v, 0));
    g_assert_false (dn_tracker_list_set_values (&l, v, DN_TRACKER_LIST_MAX + 1));

    /* Patience per dendrite count: 3 epochs without dendrites, then 5. */
    DnTrackerConfig c = defaults ();
    const double pat[] = {3, 5};
    dn_tracker_list_set_values (&c.n_epochs_to_switch, pat, 2);
    g_autoptr (DnTracker) t = make (&c, NULL, 0.1);
    DnTrackerAction a;
    int epoch = 0;
    for (; epoch < 100; epoch++) {
        feed (t, epoch < 4 ? 10.0 * epoch : 30.0, &a); /* best at epoch 3 */
        if (a.decision != DN_TRACKER_CONTINUE)
            break;
    }
    g_assert_cmpint (a.decision, ==, DN_TRACKER_ADD_DENDRITES);
    g_assert_cmpint (epoch, ==, 6); /* 3 epochs after epoch 3 */
    for (int i = 0; i < 100; i++) {
        feed (t, i < 2 ? 40.0 + i : 41.0, &a); /* rows 4, 5 improve, then flat */
        if (a.decision != DN_TRACKER_CONTINUE)
            break;
    }
    g_assert_cmpint (a.decision, ==, DN_TRACKER_ADD_DENDRITES);
    g_assert_cmpint (a.epoch, ==, 10); /* last improved at row 5, 5 epochs later */
}

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

static DnSchedConfig step_sched (void)
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

static DnTrackerConfig sweep_config (void)
{
    DnTrackerConfig c = defaults ();
    dn_tracker_list_set (&c.n_epochs_to_switch, 4);
    return c;
}

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

/* ---- resume ---- */

/* Scores for the resume run: the sweep script, then a set that fails twice,
 * a set that is kept, and a final failure. */
static double resume_score (int call)
{
    int n = G_N_ELEMENTS (sweep_script);
    if (call < n)
        return sweep_script[call];
    call -= n;
    if (call < 40)
        return 50 + (call % 7) * 0.5; /* never beats 67 */
    if (call < 60)
        return 68 + (call - 40); /* beats it */
    return 60;
}

static char *state_text (const DnTracker *t)
{
    return dn_tracker_state_to_string (t);
}

static DnTracker *through_text (const DnTracker *t)
{
    g_autofree char *text = state_text (t);
    g_autoptr (GError) error = NULL;
    DnTracker *back = dn_tracker_state_from_string (text, &error);
    g_assert_no_error (error);
    g_assert_nonnull (back);
    return back;
}

static DnTracker *resume_tracker (void)
{
    DnTrackerConfig c = sweep_config ();
    DnSchedConfig sched = step_sched ();
    DnTracker *t = make (&c, &sched, 1.0);
    const char *names[] = {"Train"};
    g_assert_true (dn_tracker_set_extra_names (t, names, 1, NULL));
    dn_tracker_set_score_unit (t, "%");
    return t;
}

static gboolean feed_resume (DnTracker *t, int call, DnTrackerAction *a)
{
    double extra = resume_score (call) + 1;
    DnTrackerScores s = {.val = resume_score (call),
                         .test = call % 5 == 0 ? NAN : resume_score (call) - 2,
                         .extra = &extra,
                         .n_extra = 1,
                         .seconds = 1.5 + call,
                         .params = params_of (t)};
    return dn_tracker_add_score (t, &s, a, NULL);
}

static void assert_same_action (const DnTrackerAction *x, const DnTrackerAction *y, int call)
{
    g_autofree char *ox = ops_text (x);
    g_autofree char *oy = ops_text (y);
    if (x->decision != y->decision || g_strcmp0 (ox, oy) != 0 ||
        g_strcmp0 (x->message, y->message) != 0 || x->lr != y->lr || x->dendrites != y->dendrites ||
        x->restored_epoch != y->restored_epoch || x->new_best != y->new_best ||
        x->epoch != y->epoch)
        g_error ("call %d: resumed run decided \"%s\" [%s], original \"%s\" [%s]", call, y->message,
                 oy, x->message, ox);
}

typedef gboolean (*FeedFunc) (DnTracker *t, int call, DnTrackerAction *a);

/* The uninterrupted run: what it decided at every call, and its final state. */
static GArray *run_to_completion (FeedFunc feed_call, char **final_state)
{
    g_autoptr (DnTracker) ref = resume_tracker ();
    GArray *actions = g_array_new (FALSE, FALSE, sizeof (DnTrackerAction));
    for (int call = 0; call < 500; call++) {
        DnTrackerAction a;
        g_assert_true (feed_call (ref, call, &a));
        g_array_append_val (actions, a);
        if (a.complete)
            break;
    }
    *final_state = state_text (ref);
    return actions;
}

static void test_resume (void)
{
    /* the uninterrupted run, and what it decided */
    g_autofree char *final_ref = NULL;
    GArray *actions = run_to_completion (feed_resume, &final_ref);
    int counts[DN_TRACKER_COMPLETE + 1] = {0};
    for (guint i = 0; i < actions->len; i++)
        counts[g_array_index (actions, DnTrackerAction, i).decision]++;
    int n = (int) actions->len;
    g_test_message ("resume run: %d calls, %d add, %d retry, %d restart, %d complete", n,
                    counts[DN_TRACKER_ADD_DENDRITES], counts[DN_TRACKER_RETRY],
                    counts[DN_TRACKER_RESTART_LR], counts[DN_TRACKER_COMPLETE]);
    g_assert_cmpint (counts[DN_TRACKER_ADD_DENDRITES], >=, 2);
    g_assert_cmpint (counts[DN_TRACKER_RETRY], >=, 1);
    g_assert_cmpint (counts[DN_TRACKER_RESTART_LR], >=, 3);
    g_assert_cmpint (counts[DN_TRACKER_COMPLETE], ==, 1);

    /* interrupted after every call: saved, reloaded, continued */
    for (int split = 0; split < n; split++) {
        g_autoptr (DnTracker) first = resume_tracker ();
        DnTrackerAction a;
        for (int call = 0; call < split; call++)
            g_assert_true (feed_resume (first, call, &a));
        g_autoptr (DnTracker) resumed = through_text (first);
        /* the text is a fixed point */
        g_autofree char *t1 = state_text (first);
        g_autofree char *t2 = state_text (resumed);
        g_assert_cmpstr (t1, ==, t2);
        g_assert_cmpfloat (dn_tracker_lr (resumed), ==, dn_tracker_lr (first));
        for (int call = split; call < n; call++) {
            g_assert_true (feed_resume (resumed, call, &a));
            assert_same_action (&g_array_index (actions, DnTrackerAction, call), &a, call);
        }
        g_autofree char *final = state_text (resumed);
        g_assert_cmpstr (final, ==, final_ref);
    }
    g_array_unref (actions);
}

/* The resume run with two correlation series. */
static void set_correlations (DnTracker *t, int call)
{
    const char *names[] = {"fc1", "fc2"};
    double values[] = {0.01 * (call % 50), call % 3 == 0 ? NAN : -0.5};
    dn_tracker_set_correlations (t, names, values, 2);
}

static gboolean feed_correlated (DnTracker *t, int call, DnTrackerAction *a)
{
    set_correlations (t, call);
    return feed_resume (t, call, a);
}

/* A copy taken between any two calls (with the next call's correlations already
 * given) goes on exactly as the original would, whatever the original does after. */
static void test_copy (void)
{
    g_autofree char *final_ref = NULL;
    GArray *actions = run_to_completion (feed_correlated, &final_ref);
    int n = (int) actions->len;
    for (int split = 0; split < n; split++) {
        DnTracker *first = resume_tracker ();
        DnTrackerAction a;
        for (int call = 0; call < split; call++)
            g_assert_true (feed_correlated (first, call, &a));
        set_correlations (first, split);
        g_autoptr (DnTracker) copy = dn_tracker_copy (first);
        g_autofree char *t1 = state_text (first);
        g_autofree char *t2 = state_text (copy);
        g_assert_cmpstr (t1, ==, t2);
        /* the original trains on and goes away: the copy shares nothing with it */
        g_assert_true (feed_resume (first, split, &a));
        g_autofree char *t3 = state_text (copy);
        g_assert_cmpstr (t3, ==, t2);
        dn_tracker_free (first);
        for (int call = split; call < n; call++) {
            g_assert_true (call == split ? feed_resume (copy, call, &a)
                                         : feed_correlated (copy, call, &a));
            assert_same_action (&g_array_index (actions, DnTrackerAction, call), &a, call);
        }
        g_autofree char *final = state_text (copy);
        g_assert_cmpstr (final, ==, final_ref);
        g_assert_cmpint (dn_tracker_n_correlations (copy), ==, 2);
        g_assert_cmpstr (dn_tracker_correlation_name (copy, 1), ==, "fc2");
        g_assert_cmpstr (dn_tracker_extra_name (copy, 0), ==, "Train");
    }
    g_array_unref (actions);
}

/* A recorder keeps the history of a run that decides for itself: the rates it is
 * given, no operation, no decision, never complete, through its text and a copy. */
static void test_recorder (void)
{
    g_autoptr (DnTracker) t = dn_tracker_new_recorder ();
    g_assert_true (dn_tracker_is_recorder (t));
    const char *names[] = {"Train"};
    g_assert_true (dn_tracker_set_extra_names (t, names, 1, NULL));
    for (int i = 0; i < 40; i++) {
        double extra = i;
        DnTrackerScores s = {.val = rising_then_flat (i),
                             .test = 40 + i,
                             .extra = &extra,
                             .n_extra = 1,
                             .seconds = 1,
                             .params = 1000,
                             .lr = pow (0.7, i)};
        DnTrackerAction a;
        g_assert_true (dn_tracker_add_score (t, &s, &a, NULL));
        g_assert_cmpint (a.decision, ==, DN_TRACKER_CONTINUE);
        g_assert_cmpint (a.n_ops, ==, 0);
        g_assert_false (a.complete || a.rebuild_optimizer || a.restructured);
    }
    g_assert_false (dn_tracker_is_complete (t));
    g_assert_cmpint (n_rows (t), ==, 40);
    for (int i = 0; i < 40; i++) {
        g_assert_cmpfloat (row (t, i)->lr, ==, pow (0.7, i));
        g_assert_cmpfloat (row (t, i)->val, ==, rising_then_flat (i));
        g_assert_cmpfloat (row (t, i)->extra[0], ==, i);
    }
    g_autoptr (DnTracker) back = through_text (t);
    g_autoptr (DnTracker) copy = dn_tracker_copy (back);
    g_assert_true (dn_tracker_is_recorder (back) && dn_tracker_is_recorder (copy));
    g_autofree char *text = state_text (t);
    g_autofree char *copy_text = state_text (copy);
    g_assert_cmpstr (copy_text, ==, text);

    /* it records the rate it is given, so it must be one */
    DnTrackerScores nan_rate = {
        .val = 50, .test = NAN, .extra = (double[]){1}, .n_extra = 1, .lr = NAN};
    DnTrackerAction a;
    g_autoptr (GError) error = NULL;
    g_assert_false (dn_tracker_add_score (t, &nan_rate, &a, &error));
    g_assert_error (error, DN_ERROR, DN_ERROR_NUMERIC);
    /* a deciding tracker is none, and says nothing of it in its state */
    g_autoptr (DnTracker) decides = resume_tracker ();
    g_autofree char *decides_text = state_text (decides);
    g_assert_false (dn_tracker_is_recorder (decides));
    g_assert_null (strstr (decides_text, "recorder"));
    /* a recorder that would switch is a damaged state */
    static const struct {
        const char *from, *to, *needle;
    } edits[] = {
        {"\"switch_mode\":\"never\"", "\"switch_mode\":\"history\"", "a recorder that switches"},
        {"\"recorder\":true", "\"recorder\":1", "recorder"},
    };
    for (guint i = 0; i < G_N_ELEMENTS (edits); i++) {
        const char *at = strstr (text, edits[i].from);
        g_assert_nonnull (at);
        g_autofree char *head = g_strndup (text, at - text);
        g_autofree char *bad = g_strconcat (head, edits[i].to, at + strlen (edits[i].from), NULL);
        g_autoptr (GError) e = NULL;
        g_assert_null (dn_tracker_state_from_string (bad, &e));
        g_assert_error (e, DN_ERROR, DN_ERROR_FORMAT);
        g_assert_nonnull (strstr (e->message, edits[i].needle));
    }
}

static void test_state_errors (void)
{
    g_autoptr (DnTracker) t = resume_tracker ();
    DnTrackerAction a;
    for (int call = 0; call < 30; call++)
        g_assert_true (feed_resume (t, call, &a));
    g_autofree char *good = state_text (t);
    gsize len = strlen (good);

    static const struct {
        const char *text;
        int code;
    } bad[] = {
        {"", DN_ERROR_FORMAT},
        {"not json", DN_ERROR_FORMAT},
        {"[1, 2]", DN_ERROR_FORMAT},
        {"{}", DN_ERROR_FORMAT},
        {"{\"format\": \"dendrite-studio-tracker\", \"version\": 2}", DN_ERROR_UNSUPPORTED},
        {"{\"format\": \"dendrite-studio-tracker\", \"version\": 1}", DN_ERROR_FORMAT},
    };
    for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
        g_autoptr (GError) error = NULL;
        g_assert_null (dn_tracker_state_from_string (bad[i].text, &error));
        g_assert_error (error, DN_ERROR, bad[i].code);
    }

    /* every truncation is an error */
    for (gsize cut = 0; cut < len; cut += 13) {
        g_autofree char *prefix = g_strndup (good, cut);
        g_autoptr (GError) error = NULL;
        g_assert_null (dn_tracker_state_from_string (prefix, &error));
        g_assert_error (error, DN_ERROR, DN_ERROR_FORMAT);
    }

    /* targeted damage, each named in the message */
    static const struct {
        const char *from, *to, *needle;
    } edits[] = {
        {"\"epoch\":[0,1,2", "\"epoch\":[0,2,2", "row numbers"},
        {"\"val\":[10,", "\"val\":[\"x\",", "state.rows.val[0]"},
        {"\"num_epochs_run\":", "\"num_epochs_run\":1", "epoch counter"},
        {"\"committed\":", "\"committed\":0,\"x\":", "state.committed"},
        {"\"kind\":\"add\"", "\"kind\":\"grow\"", "kind"},
        {"\"switch_mode\":\"history\"", "\"switch_mode\":\"often\"", "switch_mode"},
        {"\"extra_names\":[\"Train\"]", "\"extra_names\":[]", "extra"},
        {"\"total_epochs\":", "\"total_epochs\":-", "total_epochs"},
        {"\"type\":\"step\"", "\"type\":\"zigzag\"", "type"},
        {"\"format\":\"dendrite-studio-tracker\"", "\"format\":\"other\"", "format"},
    };
    for (guint i = 0; i < G_N_ELEMENTS (edits); i++) {
        const char *at = strstr (good, edits[i].from);
        if (at == NULL)
            g_error ("edit %u: \"%s\" not in the state", i, edits[i].from);
        GString *s = g_string_new_len (good, at - good);
        g_string_append (s, edits[i].to);
        g_string_append (s, at + strlen (edits[i].from));
        g_autoptr (GError) error = NULL;
        DnTracker *back = dn_tracker_state_from_string (s->str, &error);
        if (back != NULL)
            g_error ("edit %u (%s) was accepted", i, edits[i].to);
        g_assert_nonnull (error);
        if (strstr (error->message, edits[i].needle) == NULL)
            g_error ("edit %u: message \"%s\" lacks \"%s\"", i, error->message, edits[i].needle);
        g_string_free (s, TRUE);
    }

    /* Arbitrary one-character damage: an error or a tracker that still
     * works, never a crash (this test runs under ASan and UBSan too). */
    const char replacements[] = "9-\"x{}[],:0e.";
    for (gsize pos = 0, j = 0; pos < len; pos += 7, j++) {
        g_autofree char *copy = g_strdup (good);
        copy[pos] = replacements[j % (sizeof replacements - 1)];
        g_autoptr (GError) error = NULL;
        DnTracker *back = dn_tracker_state_from_string (copy, &error);
        if (back == NULL) {
            g_assert_nonnull (error);
            continue;
        }
        for (int call = 30; call < 45; call++) {
            if (!feed_resume (back, call, &a))
                break;
        }
        g_autofree char *status = dn_tracker_status_text (back);
        int nb;
        g_autofree DnTrackerArchScore *best = dn_tracker_best_scores (back, &nb);
        dn_tracker_free (back);
    }
}

int main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    g_test_add_func ("/engine/tracker/config/defaults", test_config_defaults);
    g_test_add_func ("/engine/tracker/config/roundtrip", test_config_roundtrip);
    g_test_add_func ("/engine/tracker/config/names", test_config_names);
    g_test_add_func ("/engine/tracker/config/errors", test_config_errors);
    g_test_add_func ("/engine/tracker/config/list-rule", test_config_list_rule);
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
    g_test_add_func ("/engine/tracker/state/resume", test_resume);
    g_test_add_func ("/engine/tracker/state/copy", test_copy);
    g_test_add_func ("/engine/tracker/recorder", test_recorder);
    g_test_add_func ("/engine/tracker/state/errors", test_state_errors);
    return g_test_run ();
}
