/* test-sched.c: learning-rate schedulers against PyTorch
 * (tests/fixtures/sched.json, made by tools/gen-fixtures-optim.py), resuming
 * from saved state, and JSON configuration and state errors. */
#include "dn-error.h"
#include "dn-optim.h"
#include "dn-test-util.h"

#include <math.h>
#include <string.h>

static JsonObject *fixture;

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

static DnScheduler *scheduler_for_case (JsonObject *c)
{
    g_autoptr (GError) error = NULL;
    DnSchedConfig cfg;
    g_assert_true (
        dn_sched_config_from_json (json_object_get_object_member (c, "config"), &cfg, &error));
    g_assert_no_error (error);
    return dn_scheduler_new (&cfg, json_object_get_double_member (fixture, "base_lr"));
}

static double metric_at (JsonObject *c, guint epoch)
{
    if (!json_object_has_member (c, "metrics"))
        return 0.0;
    return json_array_get_double_element (json_object_get_array_member (c, "metrics"), epoch);
}

static void assert_lr (const char *name, guint epoch, double got, double want)
{
    /* The recursive formulas in double agree with Python's to rounding. */
    if (!(fabs (got - want) <= 1e-12 + 1e-9 * fabs (want)))
        g_error ("%s: epoch %u: lr %.17g, PyTorch %.17g", name, epoch, got, want);
}

static void check_parity (gconstpointer data)
{
    JsonObject *c = (JsonObject *) data;
    const char *name = json_object_get_string_member (c, "name");
    JsonArray *lrs = json_object_get_array_member (c, "lrs");
    g_autoptr (DnScheduler) s = scheduler_for_case (c);
    for (guint e = 0; e < json_array_get_length (lrs); e++) {
        assert_lr (name, e, dn_scheduler_lr (s), json_array_get_double_element (lrs, e));
        dn_scheduler_step (s, metric_at (c, e));
    }
}

/* Runs `split` epochs, saves the state, serialises it to text and parses it
 * back as a checkpoint would, restores it into a new scheduler and continues;
 * returns the new scheduler. */
static DnScheduler *run_and_resume (JsonObject *c, guint split)
{
    g_autoptr (DnScheduler) first = scheduler_for_case (c);
    for (guint e = 0; e < split; e++)
        dn_scheduler_step (first, metric_at (c, e));
    g_autoptr (JsonBuilder) b = json_builder_new ();
    dn_scheduler_state_to_json (first, b);
    g_autoptr (JsonNode) root = json_builder_get_root (b);
    g_autoptr (JsonGenerator) gen = json_generator_new ();
    json_generator_set_root (gen, root);
    g_autofree char *text = json_generator_to_data (gen, NULL);
    if (split == 10)
        g_test_message ("state after 10 epochs: %s", text);
    g_autoptr (JsonObject) state = parse_object (text);

    DnScheduler *resumed = scheduler_for_case (c);
    g_autoptr (GError) error = NULL;
    g_assert_true (dn_scheduler_state_from_json (resumed, state, &error));
    g_assert_no_error (error);
    return resumed;
}

/* Resuming after 10 epochs (and after every other epoch count, so that
 * cooldowns and bad-epoch counts are caught mid-way) gives exactly the rates
 * of the uninterrupted run. */
static void check_resume (gconstpointer data)
{
    JsonObject *c = (JsonObject *) data;
    const char *name = json_object_get_string_member (c, "name");
    guint n = json_array_get_length (json_object_get_array_member (c, "lrs"));
    g_autoptr (DnScheduler) full = scheduler_for_case (c);
    g_autofree double *want = g_new (double, n);
    for (guint e = 0; e < n; e++) {
        want[e] = dn_scheduler_lr (full);
        dn_scheduler_step (full, metric_at (c, e));
    }

    for (guint split = 0; split < n; split++) {
        g_autoptr (DnScheduler) resumed = run_and_resume (c, split);
        for (guint e = split; e < n; e++) {
            if (dn_scheduler_lr (resumed) != want[e])
                g_error ("%s: resumed at epoch %u, epoch %u: lr %.17g, uninterrupted %.17g", name,
                         split, e, dn_scheduler_lr (resumed), want[e]);
            dn_scheduler_step (resumed, metric_at (c, e));
        }
    }
}

static void test_defaults (void)
{
    DnSchedConfig c;
    dn_sched_config_defaults (&c, DN_SCHED_PLATEAU);
    g_assert_false (c.mode_max);
    g_assert_cmpfloat (c.factor, ==, 0.1);
    g_assert_cmpint (c.patience, ==, 10);
    g_assert_cmpfloat (c.threshold, ==, 1e-4);
    g_assert_false (c.threshold_abs);
    g_assert_cmpint (c.cooldown, ==, 0);
    g_assert_cmpfloat (c.min_lr, ==, 0.0);
    g_assert_cmpfloat (c.eps, ==, 1e-8);
    dn_sched_config_defaults (&c, DN_SCHED_STEP);
    g_assert_cmpfloat (c.gamma, ==, 0.1);
    dn_sched_config_defaults (&c, DN_SCHED_COSINE);
    g_assert_cmpfloat (c.eta_min, ==, 0.0);

    /* No object at all means a constant rate. */
    g_autoptr (GError) error = NULL;
    g_assert_true (dn_sched_config_from_json (NULL, &c, &error));
    g_assert_cmpint (c.kind, ==, DN_SCHED_NONE);
    g_autoptr (DnScheduler) s = dn_scheduler_new (&c, 0.25);
    for (int e = 0; e < 5; e++)
        dn_scheduler_step (s, 1.0);
    g_assert_cmpfloat (dn_scheduler_lr (s), ==, 0.25);

    /* PyTorch's class names work too; milestones are sorted. */
    g_autoptr (JsonObject) o =
        parse_object ("{\"type\": \"MultiStepLR\", \"milestones\": [9, 2, 5]}");
    g_assert_true (dn_sched_config_from_json (o, &c, &error));
    g_assert_no_error (error);
    g_assert_cmpint (c.kind, ==, DN_SCHED_MULTISTEP);
    g_assert_cmpint (c.n_milestones, ==, 3);
    g_assert_cmpint (c.milestones[0], ==, 2);
    g_assert_cmpint (c.milestones[1], ==, 5);
    g_assert_cmpint (c.milestones[2], ==, 9);
}

static void assert_configs_equal (const DnSchedConfig *a, const DnSchedConfig *b)
{
    g_assert_cmpint (a->kind, ==, b->kind);
    g_assert_cmpint (a->step_size, ==, b->step_size);
    g_assert_cmpfloat (a->gamma, ==, b->gamma);
    g_assert_cmpint (a->n_milestones, ==, b->n_milestones);
    for (int i = 0; i < a->n_milestones; i++)
        g_assert_cmpint (a->milestones[i], ==, b->milestones[i]);
    g_assert_cmpint (a->t_max, ==, b->t_max);
    g_assert_cmpfloat (a->eta_min, ==, b->eta_min);
    g_assert_cmpint (a->mode_max, ==, b->mode_max);
    g_assert_cmpfloat (a->factor, ==, b->factor);
    g_assert_cmpint (a->patience, ==, b->patience);
    g_assert_cmpfloat (a->threshold, ==, b->threshold);
    g_assert_cmpint (a->threshold_abs, ==, b->threshold_abs);
    g_assert_cmpint (a->cooldown, ==, b->cooldown);
    g_assert_cmpfloat (a->min_lr, ==, b->min_lr);
    g_assert_cmpfloat (a->eps, ==, b->eps);
}

/* Every fixture configuration goes through to_json and back unchanged. */
static void test_roundtrip (void)
{
    JsonArray *cases = json_object_get_array_member (fixture, "cases");
    for (guint i = 0; i < json_array_get_length (cases); i++) {
        JsonObject *c = json_array_get_object_element (cases, i);
        g_autoptr (GError) error = NULL;
        DnSchedConfig a, b;
        g_assert_true (
            dn_sched_config_from_json (json_object_get_object_member (c, "config"), &a, &error));
        g_autoptr (JsonBuilder) builder = json_builder_new ();
        dn_sched_config_to_json (&a, builder);
        g_autoptr (JsonNode) root = json_builder_get_root (builder);
        g_assert_true (JSON_NODE_HOLDS_OBJECT (root));
        g_assert_true (dn_sched_config_from_json (json_node_get_object (root), &b, &error));
        g_assert_no_error (error);
        assert_configs_equal (&a, &b);
    }
}

typedef struct {
    const char *json;
    const char *message_part;
} BadJson;

static void test_config_errors (void)
{
    static const BadJson bad[] = {
        {"{}", "scheduler \"type\" is missing"},
        {"{\"type\": \"cyclic\"}", "\"type\" must be one of"},
        {"{\"type\": \"step\"}", "\"step_size\" is missing"},
        {"{\"type\": \"step\", \"step_size\": 0}", "\"step_size\" must be a whole number"},
        {"{\"type\": \"step\", \"step_size\": 2.5}", "got 2.5"},
        {"{\"type\": \"step\", \"step_size\": \"5\"}", "got \"5\""},
        {"{\"type\": \"step\", \"step_size\": 5, \"gamma\": -0.1}", "\"gamma\" must be"},
        {"{\"type\": \"step\", \"step_size\": 5, \"T_max\": 3}",
         "\"T_max\" does not apply to \"step\""},
        {"{\"type\": \"multistep\"}", "\"milestones\" is missing"},
        {"{\"type\": \"multistep\", \"milestones\": 5}", "\"milestones\" must be an array"},
        {"{\"type\": \"multistep\", \"milestones\": [5, 0]}", "\"milestones\"[1] must be"},
        {"{\"type\": \"multistep\", \"milestones\": [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,"
         "17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33]}",
         "at most 32"},
        {"{\"type\": \"exponential\"}", "\"gamma\" is missing"},
        {"{\"type\": \"cosine\"}", "\"T_max\" is missing"},
        {"{\"type\": \"cosine\", \"T_max\": 10, \"eta_min\": -1}", "\"eta_min\" must be"},
        {"{\"type\": \"plateau\", \"mode\": \"lowest\"}", "\"mode\" must be \"min\" or \"max\""},
        {"{\"type\": \"plateau\", \"factor\": 1.0}", "\"factor\" must be a number in [0, 1)"},
        {"{\"type\": \"plateau\", \"patience\": -1}", "\"patience\" must be"},
        {"{\"type\": \"plateau\", \"threshold_mode\": \"relative\"}",
         "\"threshold_mode\" must be \"rel\" or \"abs\""},
        {"{\"type\": \"plateau\", \"cooldown\": true}", "got true"},
        {"{\"type\": \"plateau\", \"min_lr\": -0.1}", "\"min_lr\""},
        {"{\"type\": \"plateau\", \"eps\": [1]}", "got an array"},
        {"{\"type\": \"plateau\", \"gamma\": 0.5}", "\"gamma\" does not apply to \"plateau\""},
        {"{\"type\": \"plateau\", \"verbose\": true}", "\"verbose\" is unknown"},
        {"{\"type\": \"none\", \"gamma\": 0.5}", "does not apply to \"none\""},
    };
    for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
        g_autoptr (JsonObject) o = parse_object (bad[i].json);
        g_autoptr (GError) error = NULL;
        DnSchedConfig c, before;
        dn_sched_config_defaults (&c, DN_SCHED_NONE);
        before = c;
        g_assert_false (dn_sched_config_from_json (o, &c, &error));
        g_assert_error (error, DN_ERROR, DN_ERROR_CONFIG);
        if (strstr (error->message, bad[i].message_part) == NULL)
            g_error ("config %s: message \"%s\" lacks \"%s\"", bad[i].json, error->message,
                     bad[i].message_part);
        assert_configs_equal (&c, &before);
    }
}

static void test_state_errors (void)
{
    static const BadJson bad[] = {
        {"{\"type\": \"step\", \"epoch\": 3, \"lr\": 0.1, \"base_lr\": 0.1}",
         "state is for \"step\" but the scheduler is \"plateau\""},
        {"{\"type\": \"plateau\", \"lr\": 0.1, \"base_lr\": 0.1}", "\"epoch\" is missing"},
        {"{\"type\": \"plateau\", \"epoch\": -2, \"lr\": 0.1, \"base_lr\": 0.1}", "got -2"},
        {"{\"type\": \"plateau\", \"epoch\": 2, \"lr\": \"x\", \"base_lr\": 0.1}",
         "scheduler state \"lr\" must be a number >= 0, got \"x\""},
        {"{\"type\": \"plateau\", \"epoch\": 2, \"lr\": 0.1, \"base_lr\": 0.1, "
         "\"num_bad_epochs\": 1, \"cooldown_counter\": 0}",
         "\"best\" is missing"},
        {"{\"type\": \"plateau\", \"epoch\": 2, \"lr\": 0.1, \"base_lr\": 0.1, \"best\": 0.5, "
         "\"num_bad_epochs\": 1.5, \"cooldown_counter\": 0}",
         "\"num_bad_epochs\""},
        {"{\"type\": \"plateau\", \"epoch\": 2, \"lr\": 0.1, \"base_lr\": 0.1, \"best\": 0.5, "
         "\"num_bad_epochs\": 1}",
         "\"cooldown_counter\" is missing"},
    };
    DnSchedConfig cfg;
    dn_sched_config_defaults (&cfg, DN_SCHED_PLATEAU);
    g_autoptr (DnScheduler) s = dn_scheduler_new (&cfg, 0.5);
    for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
        g_autoptr (JsonObject) o = parse_object (bad[i].json);
        g_autoptr (GError) error = NULL;
        g_assert_false (dn_scheduler_state_from_json (s, o, &error));
        g_assert_error (error, DN_ERROR, DN_ERROR_CONFIG);
        if (strstr (error->message, bad[i].message_part) == NULL)
            g_error ("state %s: message \"%s\" lacks \"%s\"", bad[i].json, error->message,
                     bad[i].message_part);
        /* A failed restore leaves the scheduler as it was. */
        g_assert_cmpfloat (dn_scheduler_lr (s), ==, 0.5);
    }

    /* A state saved before the first metric has best = null, and reads back. */
    g_autoptr (JsonObject) ok = parse_object (
        "{\"type\": \"plateau\", \"epoch\": 0, \"lr\": 0.5, \"base_lr\": 0.5, \"best\": null, "
        "\"num_bad_epochs\": 0, \"cooldown_counter\": 0}");
    g_autoptr (GError) error = NULL;
    g_assert_true (dn_scheduler_state_from_json (s, ok, &error));
    g_assert_no_error (error);
    dn_scheduler_step (s, 1e30); /* any finite metric improves on "none yet" */
    g_autoptr (JsonBuilder) b = json_builder_new ();
    dn_scheduler_state_to_json (s, b);
    g_autoptr (JsonNode) root = json_builder_get_root (b);
    JsonObject *st = json_node_get_object (root);
    g_assert_cmpfloat (json_object_get_double_member (st, "best"), ==, 1e30);
    g_assert_cmpint (json_object_get_int_member (st, "epoch"), ==, 1);
}

int main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    g_autoptr (JsonNode) root = dn_test_load_json ("sched.json");
    fixture = json_node_get_object (root);

    JsonArray *cases = json_object_get_array_member (fixture, "cases");
    for (guint i = 0; i < json_array_get_length (cases); i++) {
        JsonObject *c = json_array_get_object_element (cases, i);
        const char *name = json_object_get_string_member (c, "name");
        g_autofree char *parity = g_strdup_printf ("/engine/sched/%s/parity", name);
        g_autofree char *resume = g_strdup_printf ("/engine/sched/%s/resume", name);
        g_test_add_data_func (parity, c, check_parity);
        g_test_add_data_func (resume, c, check_resume);
    }
    g_test_add_func ("/engine/sched/defaults", test_defaults);
    g_test_add_func ("/engine/sched/config/roundtrip", test_roundtrip);
    g_test_add_func ("/engine/sched/config/errors", test_config_errors);
    g_test_add_func ("/engine/sched/state/errors", test_state_errors);
    return g_test_run ();
}
