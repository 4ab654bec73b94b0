/* test-tracker-config.c: the tracker's settings: defaults, the JSON round trip,
 * setting names, errors and the list rule of the thresholds. */
#include "dn-tracker-test.h"

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
    g_assert_cmpint (c.improvement_threshold.n, ==, 3);                            /* 3.2.9 */
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
    g_assert_cmpint (g_list_length (members), ==, 26);
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

int main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    g_test_add_func ("/engine/tracker/config/defaults", test_config_defaults);
    g_test_add_func ("/engine/tracker/config/roundtrip", test_config_roundtrip);
    g_test_add_func ("/engine/tracker/config/names", test_config_names);
    g_test_add_func ("/engine/tracker/config/errors", test_config_errors);
    g_test_add_func ("/engine/tracker/config/list-rule", test_config_list_rule);
    return g_test_run ();
}
