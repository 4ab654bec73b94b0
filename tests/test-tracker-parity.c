/* test-tracker-parity.c: our tracker against the decisions perforatedai 3.2.9
 * made on the same scripted scores.
 *
 * tests/fixtures/perforatedai/NAME.json is written by
 * tools/compare-perforatedai.py, which drives the reference's
 * add_validation_score; each fixture becomes the test /tracker/parity/NAME. The
 * settings use the reference's names, which the "dendrites" section of an
 * experiment reads as they are; every other setting keeps our default, so a
 * default that differs from 3.2.9 shows up here too. */
#include "dn-test-util.h"
#include "dn-tracker.h"

#include <math.h>
#include <string.h>

/* Fixtures the tool writes; fewer means a fixture went missing. */
#define N_FIXTURES_MIN 22

static const char *decision_name (const DnTrackerAction *a)
{
    switch (a->decision) {
    case DN_TRACKER_CONTINUE:
        return "continue";
    case DN_TRACKER_ADD_DENDRITES:
        return "switch";
    case DN_TRACKER_RETRY:
        return "retry";
    case DN_TRACKER_RESTART_LR:
        return "lr";
    case DN_TRACKER_COMPLETE:
        return "done";
    }
    return "?";
}

static DnTracker *tracker_for (const char *name, JsonObject *fx)
{
    g_autoptr (JsonObject) dendrites = json_object_new ();
    JsonObject *settings = json_object_get_object_member (fx, "settings");
    g_autoptr (GList) keys = json_object_get_members (settings);
    for (GList *k = keys; k; k = k->next)
        json_object_set_member (dendrites, k->data,
                                json_node_copy (json_object_get_member (settings, k->data)));
    json_object_set_boolean_member (dendrites, "maximizing_score",
                                    json_object_get_boolean_member (fx, "maximizing_score"));
    json_object_set_boolean_member (dendrites, "doing_pai",
                                    json_object_get_boolean_member (fx, "doing_pai"));

    g_autoptr (GError) error = NULL;
    DnTrackerConfig cfg;
    dn_tracker_config_defaults (&cfg);
    if (!dn_tracker_config_from_json (dendrites, &cfg, &error))
        g_error ("%s: settings: %s", name, error->message);
    DnSchedConfig sched;
    if (!dn_sched_config_from_json (json_object_get_object_member (fx, "scheduler"), &sched,
                                    &error))
        g_error ("%s: scheduler: %s", name, error->message);
    DnTracker *t = dn_tracker_new (&cfg, &sched, json_object_get_double_member (fx, "lr"), &error);
    g_assert_no_error (error);
    return t;
}

static void test_fixture (gconstpointer data)
{
    const char *file = data;
    g_autofree char *base = g_path_get_basename (file);
    g_autofree char *rel = g_build_filename ("perforatedai", base, NULL);
    g_autoptr (JsonNode) root = dn_test_load_json (rel);
    JsonObject *fx = json_node_get_object (root);
    const char *name = json_object_get_string_member (fx, "name");
    JsonArray *scores = json_object_get_array_member (fx, "scores");
    JsonArray *epochs = json_object_get_array_member (fx, "epochs");
    guint n = json_array_get_length (epochs);
    g_assert_cmpuint (n, >, 0);
    g_assert_cmpuint (json_array_get_length (scores), ==, n);

    g_autoptr (DnTracker) t = tracker_for (name, fx);
    g_autoptr (GString) diff = g_string_new (NULL);
    for (guint i = 0; i < n && diff->len == 0; i++) {
        JsonObject *want = json_array_get_object_element (epochs, i);
        const char *want_decision = json_object_get_string_member (want, "decision");
        double want_lr = json_object_get_double_member (want, "lr");
        int want_dendrites = (int) json_object_get_int_member (want, "dendrites");

        DnTrackerScores s = {.val = json_array_get_double_element (scores, i),
                             .test = NAN,
                             .seconds = 1.0,
                             .params = 1000 * (int64_t) (dn_tracker_dendrites (t) + 1)};
        DnTrackerAction a;
        g_autoptr (GError) error = NULL;
        if (!dn_tracker_add_score (t, &s, &a, &error)) {
            g_string_printf (diff, "%s: epoch %u (score %g): refused: %s", name, i, s.val,
                             error->message);
            break;
        }
        const char *got = decision_name (&a);
        if (a.message[0])
            g_test_message ("epoch %u: %s: %s", i, got, a.message);
        if (strcmp (got, want_decision) != 0)
            g_string_printf (diff, "%s: epoch %u (score %g): decision %s, perforatedai: %s (%s)",
                             name, i, s.val, got, want_decision, a.message);
        else if (a.dendrites != want_dendrites)
            g_string_printf (diff,
                             "%s: epoch %u (score %g): %s leaves %d dendrite sets, "
                             "perforatedai: %d",
                             name, i, s.val, got, a.dendrites, want_dendrites);
        else if (fabs (a.lr - want_lr) > 1e-12 * fabs (want_lr))
            g_string_printf (diff,
                             "%s: epoch %u (score %g): %s, next rate %.9g, perforatedai: %.9g",
                             name, i, s.val, got, a.lr, want_lr);
    }
    if (diff->len > 0)
        g_test_fail_printf ("%s", diff->str);
}

static int by_name (gconstpointer a, gconstpointer b)
{
    return strcmp (*(char *const *) a, *(char *const *) b);
}

int main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    g_autofree char *dir = dn_test_fixture_path ("perforatedai");
    g_autoptr (GError) error = NULL;
    g_autoptr (GDir) d = g_dir_open (dir, 0, &error);
    g_assert_no_error (error);
    GPtrArray *files = g_ptr_array_new_with_free_func (g_free);
    const char *entry;
    while ((entry = g_dir_read_name (d)))
        if (g_str_has_suffix (entry, ".json"))
            g_ptr_array_add (files, g_build_filename (dir, entry, NULL));
    g_ptr_array_sort (files, by_name);
    g_assert_cmpuint (files->len, >=, N_FIXTURES_MIN);
    for (guint i = 0; i < files->len; i++) {
        const char *file = g_ptr_array_index (files, i);
        g_autofree char *base = g_path_get_basename (file);
        base[strlen (base) - strlen (".json")] = '\0';
        g_autofree char *path = g_strdup_printf ("/tracker/parity/%s", base);
        g_test_add_data_func (path, file, test_fixture);
    }
    int rc = g_test_run ();
    g_ptr_array_unref (files);
    return rc;
}
