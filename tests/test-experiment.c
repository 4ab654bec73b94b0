/* test-experiment.c: experiment files, read, written and refused.
 *
 * Every bundled example loads (and its network builds); the defaults; the
 * to_json -> from_json -> to_json fixed point and save -> load; the name taken
 * from the file; relative paths; and one test per kind of bad file, each with
 * the right error code and a message naming the file and the field.
 */
#include "dn-error.h"
#include "dn-experiment.h"
#include "dn-test-util.h"

#include <math.h>
#include <string.h>

#define WHAT "bad.json"

static JsonNode *parse (const char *json)
{
    g_autoptr (JsonParser) p = json_parser_new ();
    g_autoptr (GError) error = NULL;
    json_parser_load_from_data (p, json, -1, &error);
    g_assert_no_error (error);
    return json_node_copy (json_parser_get_root (p));
}

static void assert_message_has (const GError *error, const char *needle)
{
    if (needle != NULL && strstr (error->message, needle) == NULL) {
        g_autofree char *msg = g_strdup_printf ("error message \"%s\" does not mention \"%s\"",
                                                error->message, needle);
        g_assertion_message (G_LOG_DOMAIN, __FILE__, __LINE__, G_STRFUNC, msg);
    }
}

static DnExperiment *from_string (const char *json, GError **error)
{
    g_autoptr (JsonNode) root = parse (json);
    return dn_experiment_from_json (root, "/some/dir", WHAT, error);
}

static char *experiment_string (const DnExperiment *exp)
{
    g_autoptr (JsonNode) node = dn_experiment_to_json (exp);
    return json_to_string (node, FALSE);
}

#define NET "{\"input\": [4], \"layers\": [{\"type\": \"linear\", \"out_features\": 3}]}"

/* ---- good files --------------------------------------------------------- */

static void test_examples_load (void)
{
    g_autofree char *dir = dn_test_data_path ("examples");
    g_autoptr (GError) error = NULL;
    g_autoptr (GDir) d = g_dir_open (dir, 0, &error);
    g_assert_no_error (error);
    const char *name;
    int n = 0;
    while ((name = g_dir_read_name (d)) != NULL) {
        if (!g_str_has_suffix (name, ".json"))
            continue;
        g_autofree char *path = g_build_filename (dir, name, NULL);
        g_test_message ("loading %s", path);
        g_autoptr (DnExperiment) exp = dn_experiment_load (path, &error);
        g_assert_no_error (error);
        g_assert_nonnull (exp);
        g_assert_nonnull (exp->network);
        g_assert_cmpstr (exp->base_dir, ==, dir);
        /* the examples are named after their files */
        g_autofree char *stem = g_strndup (name, strlen (name) - strlen (".json"));
        g_assert_cmpstr (exp->name, ==, stem);
        g_autoptr (DnNetwork) net =
            dn_network_new_from_json (exp->network, dn_backend_cpu (), &error);
        g_assert_no_error (error);
        g_assert_nonnull (net);
        DnShape out = dn_network_output_shape (net);
        g_assert_cmpint (out.ndim, ==, 1);
        g_assert_cmpint (out.d[0], ==, 10);
        n++;
    }
    g_assert_cmpint (n, >=, 3);
}

static DnExperiment *load_example (const char *name)
{
    g_autofree char *rel = g_strdup_printf ("examples/%s.json", name);
    g_autofree char *path = dn_test_data_path (rel);
    g_autoptr (GError) error = NULL;
    DnExperiment *exp = dn_experiment_load (path, &error);
    g_assert_no_error (error);
    g_assert_nonnull (exp);
    return exp;
}

static void test_example_mnist_cnn (void)
{
    g_autoptr (DnExperiment) exp = load_example ("mnist-cnn");
    g_assert_cmpstr (exp->data_format, ==, "idx");
    g_assert_null (exp->data_path);
    g_assert_cmpfloat (exp->val_fraction, ==, 0.1);
    g_assert_false (exp->normalize_from_data);
    g_assert_cmpint (exp->normalize.n_channels, ==, 1);
    g_assert_cmpfloat (exp->normalize.mean[0], ==, 0.1307f);
    g_assert_cmpfloat (exp->normalize.std[0], ==, 0.3081f);
    g_assert_cmpint (exp->optim.kind, ==, DN_OPTIM_ADADELTA);
    g_assert_cmpfloat (exp->optim.lr, ==, 1.0);
    g_assert_cmpfloat (exp->optim.rho, ==, 0.9);
    g_assert_cmpfloat (exp->optim.eps, ==, 1e-6);
    g_assert_cmpint (exp->sched.kind, ==, DN_SCHED_STEP);
    g_assert_cmpint (exp->sched.step_size, ==, 1);
    g_assert_cmpfloat (exp->sched.gamma, ==, 0.7);
    g_assert_cmpint (exp->loss, ==, DN_LOSS_CROSS_ENTROPY);
    g_assert_cmpint (exp->batch_size, ==, 64);
    g_assert_cmpint (exp->epochs, ==, 2);
    g_assert_cmpuint (exp->seed, ==, 1);
    g_assert_cmpstr (exp->device, ==, "cpu");
    g_assert_cmpstr (exp->out_dir, ==, "runs");
}

static void test_example_resnet (void)
{
    g_autoptr (DnExperiment) exp = load_example ("resnet-small");
    g_assert_true (exp->normalize_from_data);
    g_assert_cmpint (exp->optim.kind, ==, DN_OPTIM_SGD);
    g_assert_cmpfloat (exp->optim.lr, ==, 0.05);
    g_assert_cmpfloat (exp->optim.momentum, ==, 0.9);
    g_assert_true (exp->optim.nesterov);
    g_assert_cmpfloat (exp->optim.weight_decay, ==, 0.0005);
    g_assert_cmpint (exp->sched.kind, ==, DN_SCHED_COSINE);
    g_assert_cmpint (exp->sched.t_max, ==, 5);
    g_assert_cmpfloat (exp->label_smoothing, ==, 0.05);
    g_assert_cmpint (exp->epochs, ==, 5);
}

static void check_defaults (const DnExperiment *exp)
{
    g_assert_cmpstr (exp->data_format, ==, "idx");
    g_assert_null (exp->data_path);
    g_assert_null (exp->test_path);
    g_assert_null (exp->label_column);
    g_assert_cmpfloat (exp->val_fraction, ==, 0.1);
    g_assert_cmpfloat (exp->test_fraction, ==, 0.2);
    g_assert_true (exp->normalize_from_data);
    g_assert_cmpint (exp->optim.kind, ==, DN_OPTIM_ADAM);
    g_assert_cmpfloat (exp->optim.lr, ==, 1e-3);
    g_assert_cmpfloat (exp->optim.beta1, ==, 0.9);
    g_assert_cmpfloat (exp->optim.beta2, ==, 0.999);
    g_assert_cmpint (exp->sched.kind, ==, DN_SCHED_NONE);
    g_assert_cmpint (exp->loss, ==, DN_LOSS_CROSS_ENTROPY);
    g_assert_cmpfloat (exp->label_smoothing, ==, 0.0);
    g_assert_cmpint (exp->batch_size, ==, 64);
    g_assert_cmpint (exp->epochs, ==, 10);
    g_assert_cmpuint (exp->seed, ==, 1);
    g_assert_cmpstr (exp->device, ==, "cpu");
    g_assert_cmpstr (exp->out_dir, ==, "runs");
}

static void test_defaults (void)
{
    g_autoptr (DnExperiment) exp = dn_experiment_new_default ();
    g_assert_cmpstr (exp->name, ==, "experiment");
    g_assert_null (exp->network);
    check_defaults (exp);
}

/* A file with only a network takes every default. */
static void test_minimal (void)
{
    g_autoptr (GError) error = NULL;
    g_autoptr (JsonNode) root = parse ("{\"network\": " NET "}");
    g_autoptr (DnExperiment) exp = dn_experiment_from_json (root, NULL, WHAT, &error);
    g_assert_no_error (error);
    g_assert_nonnull (exp);
    g_assert_cmpstr (exp->name, ==, "experiment");
    g_assert_cmpstr (exp->base_dir, ==, ".");
    check_defaults (exp);
    /* the network is a copy, not the caller's node */
    g_assert_true (exp->network != json_object_get_member (json_node_get_object (root), "network"));
    g_assert_true (json_node_equal (
        exp->network, json_object_get_member (json_node_get_object (root), "network")));
}

/* null means "the default", the way the GUI writes an unset field. */
static void test_nulls_are_defaults (void)
{
    g_autoptr (GError) error = NULL;
    g_autoptr (DnExperiment) exp = from_string (
        "{\"name\": null, \"description\": \"all defaults\", \"network\": " NET ","
        " \"data\": {\"format\": null, \"path\": null, \"test_path\": null, \"label_column\": null,"
        "  \"validation_split\": null, \"test_split\": null, \"normalize\": null},"
        " \"training\": {\"loss\": null, \"label_smoothing\": null, \"batch_size\": null,"
        "  \"epochs\": null, \"seed\": null, \"device\": null},"
        " \"output\": {\"dir\": null}, \"dendrites\": {}}",
        &error);
    g_assert_no_error (error);
    g_assert_cmpstr (exp->name, ==, "experiment");
    check_defaults (exp);
}

static void test_all_fields (void)
{
    g_autoptr (GError) error = NULL;
    g_autoptr (DnExperiment) exp = from_string (
        "{\"name\": \"iris\", \"description\": \"four features\", \"network\": " NET ","
        " \"data\": {\"format\": \"csv\", \"path\": \"iris.csv\", \"test_path\": \"test.csv\","
        "  \"label_column\": \"species\", \"validation_split\": 0, \"test_split\": 0.25,"
        "  \"normalize\": {\"mean\": [1, 2, 3, 4], \"std\": [0.5, 1, 1.5, 2]}},"
        " \"training\": {\"optimizer\": {\"type\": \"rmsprop\", \"lr\": 0.02, \"alpha\": 0.9,"
        "   \"momentum\": 0.5, \"centered\": true},"
        "  \"scheduler\": {\"type\": \"plateau\", \"mode\": \"max\", \"patience\": 3},"
        "  \"loss\": \"nll\", \"label_smoothing\": 0.1, \"batch_size\": 16, \"epochs\": 100,"
        "  \"seed\": 9007199254740993, \"device\": \"auto\"},"
        " \"output\": {\"dir\": \"out/iris\"}}",
        &error);
    g_assert_no_error (error);
    g_assert_cmpstr (exp->name, ==, "iris");
    g_assert_cmpstr (exp->description, ==, "four features");
    g_assert_cmpstr (exp->base_dir, ==, "/some/dir");
    g_assert_cmpstr (exp->data_format, ==, "csv");
    g_assert_cmpstr (exp->data_path, ==, "iris.csv");
    g_assert_cmpstr (exp->test_path, ==, "test.csv");
    g_assert_cmpstr (exp->label_column, ==, "species");
    g_assert_cmpfloat (exp->val_fraction, ==, 0.0);
    g_assert_cmpfloat (exp->test_fraction, ==, 0.25);
    g_assert_false (exp->normalize_from_data);
    g_assert_cmpint (exp->normalize.n_channels, ==, 4);
    g_assert_cmpfloat (exp->normalize.mean[3], ==, 4.0f);
    g_assert_cmpfloat (exp->normalize.std[2], ==, 1.5f);
    g_assert_cmpint (exp->optim.kind, ==, DN_OPTIM_RMSPROP);
    g_assert_cmpfloat (exp->optim.lr, ==, 0.02);
    g_assert_cmpfloat (exp->optim.alpha, ==, 0.9);
    g_assert_true (exp->optim.centered);
    g_assert_cmpint (exp->sched.kind, ==, DN_SCHED_PLATEAU);
    g_assert_true (exp->sched.mode_max);
    g_assert_cmpint (exp->sched.patience, ==, 3);
    g_assert_cmpint (exp->loss, ==, DN_LOSS_NLL);
    g_assert_cmpfloat (exp->label_smoothing, ==, 0.1);
    g_assert_cmpint (exp->batch_size, ==, 16);
    g_assert_cmpint (exp->epochs, ==, 100);
    g_assert_cmpuint (exp->seed, ==, G_GUINT64_CONSTANT (9007199254740993));
    g_assert_cmpstr (exp->device, ==, "auto");
    g_assert_cmpstr (exp->out_dir, ==, "out/iris");
}

static void test_normalize_none (void)
{
    g_autoptr (GError) error = NULL;
    g_autoptr (DnExperiment) exp =
        from_string ("{\"network\": " NET ", \"data\": {\"normalize\": \"none\"}}", &error);
    g_assert_no_error (error);
    g_assert_false (exp->normalize_from_data);
    g_assert_cmpint (exp->normalize.n_channels, ==, 1);
    g_assert_cmpfloat (exp->normalize.mean[0], ==, 0.0f);
    g_assert_cmpfloat (exp->normalize.std[0], ==, 1.0f);
}

static void test_loss_names (void)
{
    static const char *const names[] = {"cross_entropy", "nll", "mse", "bce_with_logits"};
    for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
        g_autoptr (GError) error = NULL;
        g_autofree char *json =
            g_strdup_printf ("{\"network\": " NET ", \"training\": {\"loss\": \"%s\"}}", names[i]);
        g_autoptr (DnExperiment) exp = from_string (json, &error);
        g_assert_no_error (error);
        g_assert_cmpint (exp->loss, ==, (int) i);
        g_assert_cmpstr (dn_loss_kind_name (exp->loss), ==, names[i]);
    }
}

/* ---- writing ------------------------------------------------------------ */

/* to_json -> from_json -> to_json gives the same text. */
static void check_stable (const DnExperiment *exp)
{
    g_autofree char *first = experiment_string (exp);
    g_autoptr (JsonNode) node = dn_experiment_to_json (exp);
    g_autoptr (GError) error = NULL;
    g_autoptr (DnExperiment) again = dn_experiment_from_json (node, exp->base_dir, "again", &error);
    g_assert_no_error (error);
    g_assert_nonnull (again);
    g_autofree char *second = experiment_string (again);
    g_assert_cmpstr (first, ==, second);
    g_assert_true (json_node_equal (exp->network, again->network));
}

static void test_stable_examples (void)
{
    const char *names[] = {"mlp", "mnist-cnn", "resnet-small"};
    for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
        g_test_message ("example %s", names[i]);
        g_autoptr (DnExperiment) exp = load_example (names[i]);
        check_stable (exp);
    }
}

static void test_stable_variants (void)
{
    const char *const files[] = {
        "{\"network\": " NET "}",
        "{\"network\": " NET ", \"data\": {\"normalize\": \"none\"}}",
        "{\"name\": \"c\", \"network\": " NET ", \"data\": {\"format\": \"csv\", \"path\": "
        "\"a.csv\", \"test_path\": \"b.csv\", \"label_column\": \"y\", \"test_split\": 0.3}}",
        "{\"network\": " NET ", \"training\": {\"optimizer\": {\"type\": \"adamw\", \"betas\": "
        "[0.8, 0.9], \"amsgrad\": true}, \"scheduler\": {\"type\": \"multistep\", \"milestones\": "
        "[5, 2, 9], \"gamma\": 0.5}, \"loss\": \"mse\", \"label_smoothing\": 0.2}}",
        "{\"network\": " NET ", \"training\": {\"optimizer\": {\"type\": \"adadelta\"}, "
        "\"scheduler\": {\"type\": \"ReduceLROnPlateau\", \"threshold_mode\": \"abs\", "
        "\"cooldown\": 2, \"min_lr\": 1e-6}}}",
        "{\"network\": " NET ", \"dendrites\": {}}",
        "{\"network\": " NET
        ", \"description\": \"d\", \"dendrites\": {\"perforate\": [\"linear1\"], "
        "\"switch_mode\": \"fixed\", \"n_epochs_to_switch\": [5, 3], \"max_dendrites\": 4, "
        "\"forward_function\": \"tanh\"}}",
        "{\"network\": " NET ", \"training\": {\"scheduler\": {\"type\": \"exponential\", "
        "\"gamma\": 0.95}, \"device\": \"cuda\", \"seed\": 0}}",
    };
    for (guint i = 0; i < G_N_ELEMENTS (files); i++) {
        g_test_message ("variant %u", i);
        g_autoptr (GError) error = NULL;
        g_autoptr (DnExperiment) exp = from_string (files[i], &error);
        g_assert_no_error (error);
        check_stable (exp);
    }
    /* a default experiment with a network writes a file that reads back */
    g_autoptr (DnExperiment) def = dn_experiment_new_default ();
    def->network = parse (NET);
    check_stable (def);
}

static void test_save_load (void)
{
    g_autofree char *dir = dn_test_tmpdir ();
    g_autofree char *path = g_build_filename (dir, "saved.json", NULL);
    g_autoptr (DnExperiment) exp = load_example ("resnet-small");
    g_free (exp->name);
    exp->name = g_strdup ("renamed");
    exp->epochs = 3;
    g_autoptr (GError) error = NULL;
    g_assert_true (dn_experiment_save (exp, path, &error));
    g_assert_no_error (error);
    g_autoptr (DnExperiment) back = dn_experiment_load (path, &error);
    g_assert_no_error (error);
    g_assert_nonnull (back);
    g_assert_cmpstr (back->name, ==, "renamed");
    g_assert_cmpint (back->epochs, ==, 3);
    g_assert_cmpstr (back->base_dir, ==, dir);
    g_autofree char *a = experiment_string (exp);
    g_autofree char *b = experiment_string (back);
    g_assert_cmpstr (a, ==, b);
    /* the saved file is indented JSON a person can read */
    g_autofree char *text = NULL;
    g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
    g_assert_nonnull (strstr (text, "\n  \"training\""));

    /* saving into a folder that does not exist is an I/O error */
    g_autofree char *bad = g_build_filename (dir, "no", "such", "dir", "x.json", NULL);
    g_assert_false (dn_experiment_save (exp, bad, &error));
    g_assert_error (error, DN_ERROR, DN_ERROR_IO);
    dn_test_tmpdir_remove (dir);
}

static void test_name_from_file (void)
{
    g_autofree char *dir = dn_test_tmpdir ();
    static const char body[] = "{\"network\": " NET "}";
    g_autoptr (GError) error = NULL;
    g_autofree char *p1 = dn_test_write_file (dir, "my-run.json", body, strlen (body));
    g_autoptr (DnExperiment) e1 = dn_experiment_load (p1, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (e1->name, ==, "my-run");
    /* only the last extension goes */
    g_autofree char *p2 = dn_test_write_file (dir, "v1.2.json", body, strlen (body));
    g_autoptr (DnExperiment) e2 = dn_experiment_load (p2, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (e2->name, ==, "v1.2");
    g_autofree char *p3 = dn_test_write_file (dir, "noext", body, strlen (body));
    g_autoptr (DnExperiment) e3 = dn_experiment_load (p3, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (e3->name, ==, "noext");
    /* a name in the file wins */
    static const char named[] = "{\"name\": \"given\", \"network\": " NET "}";
    g_autofree char *p4 = dn_test_write_file (dir, "other.json", named, strlen (named));
    g_autoptr (DnExperiment) e4 = dn_experiment_load (p4, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (e4->name, ==, "given");
    dn_test_tmpdir_remove (dir);
}

static void test_resolve_path (void)
{
    g_autofree char *dir = dn_test_tmpdir ();
    static const char body[] = "{\"network\": " NET ", \"data\": {\"format\": \"csv\", "
                               "\"path\": \"train.csv\"}}";
    g_autofree char *path = dn_test_write_file (dir, "exp.json", body, strlen (body));
    g_autofree char *csv = dn_test_write_file (dir, "train.csv", "a,b\n1,0\n", 8);
    g_autoptr (GError) error = NULL;
    g_autoptr (DnExperiment) exp = dn_experiment_load (path, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (exp->data_path, ==, "train.csv");
    /* relative paths resolve against the experiment file's folder */
    g_autofree char *resolved = dn_experiment_resolve_path (exp, exp->data_path);
    g_assert_cmpstr (resolved, ==, csv);
    /* absolute paths and paths that exist nowhere are kept as given */
    g_autofree char *abs = dn_experiment_resolve_path (exp, "/no/such/file.csv");
    g_assert_cmpstr (abs, ==, "/no/such/file.csv");
    g_autofree char *missing = dn_experiment_resolve_path (exp, "missing-dn-test.csv");
    g_assert_cmpstr (missing, ==, "missing-dn-test.csv");
    g_assert_null (dn_experiment_resolve_path (exp, NULL));
    dn_test_tmpdir_remove (dir);
}

/* ---- errors ------------------------------------------------------------- */

typedef struct {
    const char *path;
    const char *json;
    int code;
    const char *fragment1; /* each must appear in the message; NULL: not checked */
    const char *fragment2;
} ErrorCase;

#define E(path, members, f1, f2)                                                                   \
    {                                                                                              \
        "/engine/experiment/errors/" path, "{\"network\": " NET ", " members "}", DN_ERROR_CONFIG, \
            f1, f2                                                                                 \
    }

static const ErrorCase error_cases[] = {
    {"/engine/experiment/errors/not-an-object", "[1, 2, 3]", DN_ERROR_CONFIG, "JSON object", NULL},
    {"/engine/experiment/errors/string-root", "\"experiment\"", DN_ERROR_CONFIG, "JSON object",
     NULL},
    E ("unknown-top-level", "\"trainig\": {}", "\"trainig\"", "(top level)"),
    E ("unknown-in-data", "\"data\": {\"fromat\": \"idx\"}", "\"fromat\"", "\"data\""),
    E ("unknown-in-training", "\"training\": {\"lr\": 0.1}", "\"lr\"", "\"training\""),
    E ("unknown-in-output", "\"output\": {\"folder\": \"runs\"}", "\"folder\"", "\"output\""),
    E ("name-not-string", "\"name\": 7", "\"name\"", "string"),
    E ("name-empty", "\"name\": \"\"", "\"name\"", "folder"),
    E ("name-dot-dot", "\"name\": \"..\"", "\"name\"", "folder"),
    E ("name-with-slash", "\"name\": \"runs/a\"", "\"name\"", "'/'"),
    E ("name-escape", "\"name\": \"a\\u001b[2Jb\"", "\"name\"", "U+001B"),
    E ("name-bidi-override", "\"name\": \"run\\u202egpj.exe\"", "\"name\"", "U+202E"),
    E ("name-newline", "\"name\": \"a\\nb\"", "\"name\"", "U+000A"),
    E ("name-c1-control", "\"name\": \"a\\u009bb\"", "\"name\"", "U+009B"),
    E ("name-backslash", "\"name\": \"a\\\\b\"", "\"name\"", "'\\'"),
    E ("name-dash", "\"name\": \"-rf\"", "\"name\"", "start with '-'"),
    E ("name-dot", "\"name\": \".\"", "\"name\"", "folder"),
    E ("description-not-string", "\"description\": [\"a\"]", "\"description\"", "string"),
    E ("dendrites-not-object", "\"dendrites\": true", "\"dendrites\"", "object"),
    E ("dendrites-unknown-key", "\"dendrites\": {\"swich_mode\": \"never\"}", "\"swich_mode\"",
       "\"dendrites\""),
    E ("data-not-object", "\"data\": \"mnist\"", "\"data\"", "object"),
    E ("training-not-object", "\"training\": []", "\"training\"", "object"),
    E ("output-not-object", "\"output\": \"runs\"", "\"output\"", "object"),
    E ("format-unknown", "\"data\": {\"format\": \"parquet\"}", "\"format\"", "csv"),
    E ("format-not-string", "\"data\": {\"format\": 1}", "\"format\"", "string"),
    E ("path-not-string", "\"data\": {\"path\": [\"a\"]}", "\"path\"", "string"),
    E ("validation-split-too-big", "\"data\": {\"validation_split\": 1.5}", "\"validation_split\"",
       "1.5"),
    E ("validation-split-string", "\"data\": {\"validation_split\": \"10%\"}",
       "\"validation_split\"", "number"),
    E ("test-split-negative", "\"data\": {\"test_split\": -0.1}", "\"test_split\"", NULL),
    E ("normalize-unknown-word", "\"data\": {\"normalize\": \"zscore\"}", "\"normalize\"",
       "dataset"),
    E ("normalize-number", "\"data\": {\"normalize\": 255}", "\"normalize\"", NULL),
    E ("normalize-lengths-differ",
       "\"data\": {\"normalize\": {\"mean\": [0.5, 0.5, 0.5], \"std\": [0.2, 0.2]}}",
       "\"normalize\"", "mean"),
    E ("normalize-std-zero", "\"data\": {\"normalize\": {\"mean\": [0.5], \"std\": [0]}}",
       "\"normalize\"", "std"),
    E ("normalize-std-tiny", "\"data\": {\"normalize\": {\"mean\": [0.5], \"std\": [1e-300]}}",
       "std 1e-300", "too small: below 1e-12"),
    E ("normalize-std-infinite-as-float",
       "\"data\": {\"normalize\": {\"mean\": [0.5], \"std\": [1e39]}}", "\"normalize\"",
       "does not fit a float"),
    E ("normalize-std-negative", "\"data\": {\"normalize\": {\"mean\": [0.5], \"std\": [-1]}}",
       "\"normalize\"", "std"),
    E ("normalize-empty-lists", "\"data\": {\"normalize\": {\"mean\": [], \"std\": []}}",
       "\"normalize\"", NULL),
    E ("normalize-extra-key",
       "\"data\": {\"normalize\": {\"mean\": [0.5], \"std\": [0.2], \"max\": [1]}}",
       "\"normalize\"", NULL),
    E ("normalize-strings", "\"data\": {\"normalize\": {\"mean\": [\"0.5\"], \"std\": [0.2]}}",
       "\"normalize\"", NULL),
    E ("normalize-too-many-channels",
       "\"data\": {\"normalize\": {\"mean\": [0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0], "
       "\"std\": [1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]}}",
       "\"normalize\"", NULL),
    E ("batch-size-string", "\"training\": {\"batch_size\": \"64\"}", "\"batch_size\"",
       "whole number"),
    E ("batch-size-zero", "\"training\": {\"batch_size\": 0}", "\"batch_size\"", "between"),
    E ("batch-size-fraction", "\"training\": {\"batch_size\": 32.5}", "\"batch_size\"", NULL),
    E ("epochs-fraction", "\"training\": {\"epochs\": 1.5}", "\"epochs\"", "whole number"),
    E ("epochs-1e20", "\"training\": {\"epochs\": 1e20}", "\"epochs\" is 1e+20",
       "whole number between 1 and 1000000"),
    E ("epochs-negative", "\"training\": {\"epochs\": -3}", "\"epochs\"", NULL),
    E ("seed-negative", "\"training\": {\"seed\": -1}", "\"seed\"", NULL),
    E ("seed-string", "\"training\": {\"seed\": \"1\"}", "\"seed\"", NULL),
    E ("device-unknown", "\"training\": {\"device\": \"tpu\"}", "\"device\"", "cuda"),
    E ("device-not-string", "\"training\": {\"device\": true}", "\"device\"", NULL),
    E ("loss-unknown", "\"training\": {\"loss\": \"hinge\"}", "\"loss\"", "cross_entropy"),
    E ("label-smoothing-too-big", "\"training\": {\"label_smoothing\": 2}", "\"label_smoothing\"",
       NULL),
    E ("optimizer-unknown-type", "\"training\": {\"optimizer\": {\"type\": \"lbfgs\"}}",
       "training.optimizer", "\"type\""),
    E ("optimizer-missing-type", "\"training\": {\"optimizer\": {\"lr\": 0.1}}",
       "training.optimizer", "\"type\""),
    E ("optimizer-foreign-field",
       "\"training\": {\"optimizer\": {\"type\": \"adam\", \"momentum\": 0.9}}",
       "training.optimizer", "\"momentum\""),
    E ("optimizer-negative-lr", "\"training\": {\"optimizer\": {\"type\": \"sgd\", \"lr\": -1}}",
       "training.optimizer", "\"lr\""),
    E ("optimizer-not-object", "\"training\": {\"optimizer\": \"adam\"}", "\"optimizer\"",
       "object"),
    E ("scheduler-unknown-type", "\"training\": {\"scheduler\": {\"type\": \"onecycle\"}}",
       "training.scheduler", "\"type\""),
    E ("scheduler-missing-step-size", "\"training\": {\"scheduler\": {\"type\": \"step\"}}",
       "training.scheduler", "\"step_size\""),
    E ("scheduler-foreign-field",
       "\"training\": {\"scheduler\": {\"type\": \"cosine\", \"T_max\": 5, \"gamma\": 0.1}}",
       "training.scheduler", "\"gamma\""),
    E ("scheduler-not-object", "\"training\": {\"scheduler\": null}", "\"scheduler\"", "object"),
    {"/engine/experiment/errors/network-missing", "{\"name\": \"x\"}", DN_ERROR_CONFIG,
     "\"network\"", "missing"},
    {"/engine/experiment/errors/network-not-object", "{\"network\": [1, 28, 28]}", DN_ERROR_CONFIG,
     "\"network\"", NULL},
};

static void test_error_case (gconstpointer data)
{
    const ErrorCase *c = data;
    g_autoptr (GError) error = NULL;
    g_autoptr (DnExperiment) exp = from_string (c->json, &error);
    g_assert_null (exp);
    g_assert_error (error, DN_ERROR, c->code);
    g_test_message ("message: %s", error->message);
    assert_message_has (error, WHAT);
    assert_message_has (error, c->fragment1);
    assert_message_has (error, c->fragment2);
}

static void test_null_root (void)
{
    g_autoptr (GError) error = NULL;
    g_autoptr (DnExperiment) exp = dn_experiment_from_json (NULL, NULL, WHAT, &error);
    g_assert_null (exp);
    g_assert_error (error, DN_ERROR, DN_ERROR_CONFIG);
    assert_message_has (error, WHAT);
}

static void expect_load_error (const char *path, int code, const char *fragment)
{
    g_autoptr (GError) error = NULL;
    g_autoptr (DnExperiment) exp = dn_experiment_load (path, &error);
    g_assert_null (exp);
    g_assert_error (error, DN_ERROR, code);
    g_test_message ("message: %s", error->message);
    assert_message_has (error, path);
    assert_message_has (error, fragment);
}

static void test_invalid_json_file (void)
{
    g_autofree char *dir = dn_test_tmpdir ();
    static const char *const bodies[] = {
        "{\"network\": {\"input\": [4],", /* truncated */
        "{\"name\" \"no colon\"}",
        "{\"a\": 1} trailing",
        "\xff\xfe{}",
    };
    for (guint i = 0; i < G_N_ELEMENTS (bodies); i++) {
        g_autofree char *name = g_strdup_printf ("broken%u.json", i);
        g_autofree char *path = dn_test_write_file (dir, name, bodies[i], strlen (bodies[i]));
        expect_load_error (path, DN_ERROR_FORMAT, NULL);
    }
    dn_test_tmpdir_remove (dir);
}

static void test_valid_json_bad_experiment_file (void)
{
    g_autofree char *dir = dn_test_tmpdir ();
    static const char body[] = "{\"network\": " NET ", \"training\": {\"epochs\": 1.5}}";
    g_autofree char *path = dn_test_write_file (dir, "frac.json", body, strlen (body));
    expect_load_error (path, DN_ERROR_CONFIG, "\"epochs\"");
    dn_test_tmpdir_remove (dir);
}

static void test_empty_file (void)
{
    g_autofree char *dir = dn_test_tmpdir ();
    g_autofree char *path = dn_test_write_file (dir, "empty.json", "", 0);
    g_autoptr (GError) error = NULL;
    g_autoptr (DnExperiment) exp = dn_experiment_load (path, &error);
    g_assert_null (exp);
    g_assert_nonnull (error);
    g_test_message ("message: %s", error->message);
    g_assert_true (g_error_matches (error, DN_ERROR, DN_ERROR_FORMAT) ||
                   g_error_matches (error, DN_ERROR, DN_ERROR_CONFIG));
    assert_message_has (error, path);
    dn_test_tmpdir_remove (dir);
}

static void test_missing_file (void)
{
    g_autofree char *dir = dn_test_tmpdir ();
    g_autofree char *path = g_build_filename (dir, "nothing-here.json", NULL);
    expect_load_error (path, DN_ERROR_IO, NULL);
    dn_test_tmpdir_remove (dir);
}

/* A long name is refused, and the message shows it cut, not whole. */
static void test_name_too_long (void)
{
    gsize n = 1000 * 1000;
    g_autofree char *name = g_malloc (n + 1);
    memset (name, 'r', n);
    name[n] = '\0';
    g_autofree char *json = g_strdup_printf ("{\"network\": " NET ", \"name\": \"%s\"}", name);
    g_autoptr (GError) error = NULL;
    g_autoptr (DnExperiment) exp = from_string (json, &error);
    g_assert_null (exp);
    g_assert_error (error, DN_ERROR, DN_ERROR_CONFIG);
    g_test_message ("message: %s", error->message);
    assert_message_has (error, "at most 128");
    assert_message_has (error, "rrr…\"");
    g_assert_cmpuint (strlen (error->message), <, 400);
}

/* What json-glib does not see, the reader does, and names the key's path. */
static void test_scanned_file_errors (void)
{
    g_autofree char *dir = dn_test_tmpdir ();
    static const struct {
        const char *body;
        const char *fragment1, *fragment2;
    } cases[] = {
        {"{\"name\": \"a\", \"network\": " NET ", \"name\": \"b\"}", "the top level",
         "\"name\" twice"},
        {"{\"network\": " NET ", \"training\": {\"epochs\": 3, \"seed\": 1, \"epochs\": 4}}",
         "\"training\" has the key \"epochs\" twice", NULL},
        {"{\"network\": {\"input\": [4], \"layers\": [{\"type\": \"relu\"}, {\"type\": "
         "\"linear\", \"out_features\": 3, \"out_features\": 5}]}}",
         "\"network.layers[1]\" has the key \"out_features\" twice", NULL},
        {"{\"network\": " NET ", \"name\": \"ab\\u0000cd\"}", "\"name\"", "NUL character"},
        {"{\"network\": " NET ", \"name\": \"a\", \"n\\u0061me\": \"b\"}", "key \"name\" twice",
         "escapes"},
        {"{\"network\": " NET ", \"training\": {\"epochs\": 100000000000000000000}}",
         "\"training.epochs\" is 100000000000000000000", "too large for a whole number"},
        {"{\"network\": " NET ", \"training\": {\"optimizer\": {\"type\": \"sgd\", \"lr\": 1e999}}}",
         "\"training.optimizer.lr\" is 1e999", "beyond the range"},
    };
    for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
        g_autofree char *path =
            dn_test_write_file (dir, "scan.json", cases[i].body, strlen (cases[i].body));
        expect_load_error (path, DN_ERROR_FORMAT, cases[i].fragment1);
        expect_load_error (path, DN_ERROR_FORMAT, cases[i].fragment2);
    }
    dn_test_tmpdir_remove (dir);
}

/* A character device (endless) and an oversized file stop at the limit. */
static void test_size_limit (void)
{
    expect_load_error ("/dev/zero", DN_ERROR_FORMAT, "16 MB");
    g_autofree char *dir = dn_test_tmpdir ();
    gsize n = DN_EXPERIMENT_MAX_BYTES + 1;
    g_autofree char *body = g_malloc (n);
    memset (body, ' ', n);
    body[0] = '{';
    body[n - 1] = '}';
    g_autofree char *path = dn_test_write_file (dir, "big.json", body, n);
    expect_load_error (path, DN_ERROR_FORMAT, "the limit for an experiment file");
    dn_test_tmpdir_remove (dir);
}

/* Without "name", the file's name names the run folder, and is checked as one. */
static void test_name_from_bad_file_name (void)
{
    g_autofree char *dir = dn_test_tmpdir ();
    static const char body[] = "{\"network\": " NET "}";
    g_autofree char *path = dn_test_write_file (dir, "-rf.json", body, strlen (body));
    expect_load_error (path, DN_ERROR_CONFIG, "start with '-'");
    dn_test_tmpdir_remove (dir);
}

int main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);

    g_test_add_func ("/engine/experiment/load/examples", test_examples_load);
    g_test_add_func ("/engine/experiment/load/example-mnist-cnn", test_example_mnist_cnn);
    g_test_add_func ("/engine/experiment/load/example-resnet-small", test_example_resnet);
    g_test_add_func ("/engine/experiment/load/minimal", test_minimal);
    g_test_add_func ("/engine/experiment/load/nulls-are-defaults", test_nulls_are_defaults);
    g_test_add_func ("/engine/experiment/load/all-fields", test_all_fields);
    g_test_add_func ("/engine/experiment/load/normalize-none", test_normalize_none);
    g_test_add_func ("/engine/experiment/load/loss-names", test_loss_names);
    g_test_add_func ("/engine/experiment/load/name-from-file", test_name_from_file);
    g_test_add_func ("/engine/experiment/load/resolve-path", test_resolve_path);
    g_test_add_func ("/engine/experiment/defaults", test_defaults);

    g_test_add_func ("/engine/experiment/write/stable-examples", test_stable_examples);
    g_test_add_func ("/engine/experiment/write/stable-variants", test_stable_variants);
    g_test_add_func ("/engine/experiment/write/save-load", test_save_load);

    for (guint i = 0; i < G_N_ELEMENTS (error_cases); i++)
        g_test_add_data_func (error_cases[i].path, &error_cases[i], test_error_case);
    g_test_add_func ("/engine/experiment/errors/null-root", test_null_root);
    g_test_add_func ("/engine/experiment/errors/invalid-json-file", test_invalid_json_file);
    g_test_add_func ("/engine/experiment/errors/bad-experiment-file",
                     test_valid_json_bad_experiment_file);
    g_test_add_func ("/engine/experiment/errors/empty-file", test_empty_file);
    g_test_add_func ("/engine/experiment/errors/name-too-long", test_name_too_long);
    g_test_add_func ("/engine/experiment/errors/scanned", test_scanned_file_errors);
    g_test_add_func ("/engine/experiment/errors/size-limit", test_size_limit);
    g_test_add_func ("/engine/experiment/errors/name-from-file-name", test_name_from_bad_file_name);
    g_test_add_func ("/engine/experiment/errors/missing-file", test_missing_file);

    return g_test_run ();
}
