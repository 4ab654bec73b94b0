/* test-config-reader.c: the configuration field reader (dn-config-reader): each
 * type's values and errors in both message forms, absent and null fields, unknown
 * fields, fields of another kind, required fields, arrays and the rule texts. */
#include "dn-config-reader.h"
#include "dn-error.h"
#include "dn-test-util.h"

#include <math.h>
#include <string.h>

static void assert_message (const GError *error, const char *want)
{
    g_assert_nonnull (error);
    g_assert_error (error, DN_ERROR, DN_ERROR_CONFIG);
    if (strstr (error->message, want) == NULL)
        g_error ("message \"%s\" does not contain \"%s\"", error->message, want);
}

static const char *const fruit[] = {"apple", "pear", "plum", NULL};
static const char *const two[] = {"min", "max", NULL};

/* Reads the field "v" as `type` and checks that a failed read leaves every default. */
static gboolean read_as (DnFieldReader *r, const char *type)
{
    static const DnRange unit_open = {0, 1, .max_open = TRUE};
    static const DnRange positive = {0, INFINITY, .min_open = TRUE};
    int i = 3, list[16], n = -1;
    gint64 i64 = 3;
    double d = 0.5, pair[2] = {0.25, 0.75};
    gboolean b = TRUE, ok;
    g_autofree char *s = g_strdup ("keep");
    g_auto (GStrv) names = NULL;
    DnFieldReader child;
    if (g_str_equal (type, "int"))
        ok = dn_fields_int (r, "v", 1, 100, &i);
    else if (g_str_equal (type, "int64"))
        ok = dn_fields_int64 (r, "v", 0, G_MAXINT64, &i64);
    else if (g_str_equal (type, "number"))
        ok = dn_fields_number (r, "v", 0.0, 0.9, &d);
    else if (g_str_equal (type, "unit-open"))
        ok = dn_fields_number_in (r, "v", &unit_open, &d);
    else if (g_str_equal (type, "positive"))
        ok = dn_fields_number_in (r, "v", &positive, &d);
    else if (g_str_equal (type, "bool"))
        ok = dn_fields_bool (r, "v", &b);
    else if (g_str_equal (type, "string"))
        ok = dn_fields_string (r, "v", &s);
    else if (g_str_equal (type, "fruit"))
        ok = dn_fields_enum (r, "v", fruit, NULL, &i);
    else if (g_str_equal (type, "min-max"))
        ok = dn_fields_enum (r, "v", two, NULL, &i);
    else if (g_str_equal (type, "pair"))
        ok = dn_fields_number_list (r, "v", &unit_open, 2, 2, FALSE, pair, &n);
    else if (g_str_equal (type, "counts"))
        ok = dn_fields_int_list (r, "v", 1, G_MAXINT, 1, 16, TRUE, list, &n);
    else if (g_str_equal (type, "names"))
        ok = dn_fields_string_list (r, "v", &names);
    else
        ok = dn_fields_object (r, "v", &child);
    g_assert_cmpint (i, ==, 3);
    g_assert_cmpint (i64, ==, 3);
    g_assert_cmpfloat (d, ==, 0.5);
    g_assert_cmpfloat (pair[0], ==, 0.25); /* all or nothing */
    g_assert_cmpfloat (pair[1], ==, 0.75);
    g_assert_true (b);
    g_assert_cmpstr (s, ==, "keep");
    g_assert_cmpint (n, ==, -1);
    g_assert_null (names);
    return ok;
}

/* Every type's error names the place, the field, the value and the rule, in both
 * forms: a file's section ("x.json", "sec") and a section its caller names ("opt"). */
static void test_type_errors (void)
{
    static const struct {
        const char *value, *type, *with_what, *without_what;
    } cases[] = {
        {"0", "int", "x.json: \"sec\".\"v\" is 0; it must be a whole number between 1 and 100",
         "opt \"v\" must be a whole number between 1 and 100, got 0"},
        {"2.5", "int", "\"sec\".\"v\" is 2.5; it must be a whole number",
         "opt \"v\" must be a whole number between 1 and 100, got 2.5"},
        {"\"5\"", "int", "\"v\" is \"5\"", "got \"5\""},
        {"1e300", "int", "\"v\" is 1e+300", "got 1e+300"},
        {"-1", "int64", "x.json: \"sec\".\"v\" is -1; it must be a whole number >= 0",
         "opt \"v\" must be a whole number >= 0, got -1"},
        {"1.5", "number", "\"sec\".\"v\" is 1.5; it must be a number in [0, 0.9]",
         "opt \"v\" must be a number in [0, 0.9], got 1.5"},
        {"\"0.5\"", "number", "\"v\" is \"0.5\"", "got \"0.5\""},
        {"1", "unit-open", "\"v\" is 1; it must be a number in [0, 1)",
         "opt \"v\" must be a number in [0, 1), got 1"},
        {"0", "positive", "it must be a number > 0", "opt \"v\" must be a number > 0, got 0"},
        {"1", "bool", "x.json: \"sec\".\"v\" is 1; it must be true or false",
         "opt \"v\" must be true or false, got 1"},
        {"7", "string", "x.json: \"sec\".\"v\" is 7; it must be a string",
         "opt \"v\" must be a string, got 7"},
        {"\"fig\"", "fruit",
         "\"sec\".\"v\" is \"fig\"; it must be one of \"apple\", \"pear\", \"plum\"",
         "opt \"v\" must be one of \"apple\", \"pear\", \"plum\", got \"fig\""},
        {"3", "fruit", "is 3; it must be one of the strings \"apple\"",
         "must be one of the strings \"apple\", \"pear\", \"plum\", got 3"},
        {"\"mid\"", "min-max", "it must be \"min\" or \"max\"",
         "opt \"v\" must be \"min\" or \"max\", got \"mid\""},
        {"false", "min-max", "it must be the string \"min\" or \"max\"", "got false"},
        {"0.5", "pair", "\"sec\".\"v\" is 0.5; it must be two numbers in [0, 1)",
         "opt \"v\" must be two numbers in [0, 1), got 0.5"},
        {"[0.5]", "pair", "\"v\" is an array of 1 value; it must be two",
         "opt \"v\" must be two numbers in [0, 1), got 1 value"},
        {"[0.5, 1]", "pair", "x.json: \"sec\".\"v\"[1] is 1; it must be a number in [0, 1)",
         "opt \"v\"[1] must be a number in [0, 1), got 1"},
        {"[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17]", "counts",
         "x.json: \"sec\".\"v\" has 17 values; it must have 1 to 16 values",
         "opt \"v\" must have 1 to 16 values, got 17"},
        {"[]", "counts", "\"v\" has 0 values; it must have 1 to 16 values",
         "opt \"v\" must have 1 to 16 values, got 0"},
        {"\"ten\"", "counts",
         "x.json: \"sec\".\"v\" is \"ten\"; it must be a whole number >= 1, or an array of 1 to 16 "
         "of them",
         "got \"ten\""},
        {"[1, 0]", "counts", "\"v\"[1] is 0; it must be a whole number >= 1",
         "opt \"v\"[1] must be a whole number >= 1, got 0"},
        {"[\"a\", 2]", "names", "\"v\"[1] is 2; it must be a string",
         "opt \"v\"[1] must be a string, got 2"},
        {"\"a\"", "names", "is \"a\"; it must be an array of strings",
         "must be an array of strings, got \"a\""},
        {"[1]", "object", "\"sec\".\"v\" is an array; it must be an object",
         "opt \"v\" must be an object, got an array"},
        {"null", "object", "\"v\" is null; it must be an object", "got null"},
    };
    for (gsize c = 0; c < G_N_ELEMENTS (cases); c++) {
        g_autofree char *json = g_strdup_printf ("{\"v\": %s}", cases[c].value);
        g_autoptr (JsonObject) o = dn_test_json_object (json);
        for (int form = 0; form < 2; form++) {
            g_autoptr (GError) error = NULL;
            g_auto (DnFieldReader) r = form == 0 ? dn_fields_reader (o, "x.json", "sec", 0, &error)
                                                 : dn_fields_reader (o, NULL, "opt", 0, &error);
            g_assert_false (read_as (&r, cases[c].type));
            g_test_message ("%s as %s: %s", json, cases[c].type, error->message);
            assert_message (error, form == 0 ? cases[c].with_what : cases[c].without_what);
        }
    }
}

/* Absent fields, and null ones with DN_FIELDS_NULL_IS_ABSENT, leave the defaults
 * (read_as checks them); without the flag null is a wrong value like any other. A
 * section is left out, not nulled: null is no object even with the flag. */
static void test_absent_and_null (void)
{
    static const char *const types[] = {"int",    "int64",  "number", "unit-open", "positive",
                                        "bool",   "string", "fruit",  "min-max",   "pair",
                                        "counts", "names",  "object"};
    g_autoptr (JsonObject) absent = dn_test_json_object ("{}");
    g_autoptr (JsonObject) null = dn_test_json_object ("{\"v\": null}");
    for (gsize t = 0; t < G_N_ELEMENTS (types); t++) {
        g_autoptr (GError) error = NULL;
        g_auto (DnFieldReader) r = dn_fields_reader (absent, "x.json", "sec", 0, &error);
        g_assert_true (read_as (&r, types[t]));
        /* a reader of nothing, like the section of an absent object */
        g_auto (DnFieldReader) none = dn_fields_reader (NULL, "x.json", "sec", 0, &error);
        g_assert_true (read_as (&none, types[t]));
        g_assert_true (dn_fields_check_keys (&none, (const char *const[]){NULL}));
        g_auto (DnFieldReader) lax =
            dn_fields_reader (null, "x.json", "sec", DN_FIELDS_NULL_IS_ABSENT, &error);
        gboolean is_object = g_str_equal (types[t], "object");
        g_assert_true (read_as (&lax, types[t]) == !is_object);
        g_assert_true (is_object || dn_fields_member (&lax, "v") == NULL);
        g_clear_error (&error);
        g_auto (DnFieldReader) strict = dn_fields_reader (null, NULL, "opt", 0, &error);
        g_assert_false (read_as (&strict, types[t]));
        assert_message (error, "opt \"v\" must be");
        assert_message (error, ", got null");
    }
}

/* Values that read: each type, whole numbers written as 5.0, names in any case,
 * aliases, bare values as arrays of one. */
static void test_values (void)
{
    g_autoptr (JsonObject) o = dn_test_json_object (
        "{\"n\": 5.0, \"seed\": 9223372036854775807, \"f\": 0.75, \"b\": false, \"s\": \"hi\", "
        "\"e\": \"PEAR\", \"a\": \"reducelronplateau\", \"pair\": [0.5, 0.25], \"bare\": 3, "
        "\"ints\": [2, 4.0, 8], \"names\": [\"x\", \"y\"], \"obj\": {\"k\": 1}}");
    g_autoptr (GError) error = NULL;
    g_auto (DnFieldReader) r = dn_fields_reader (o, "x.json", "sec", 0, &error);
    int n = 0, e = -1, a = -1, ints[3], bare[4], n_ints = 0, n_bare = 0, n_pair = 0, k = 0;
    gint64 seed = 0;
    double f = 0, pair[2];
    gboolean b = TRUE;
    g_autofree char *s = NULL;
    g_auto (GStrv) names = NULL;
    static const char *const kinds[] = {"step", "plateau", NULL};
    static const char *const torch[] = {"steplr", "reducelronplateau", NULL};
    DnFieldReader child;
    g_assert_true (dn_fields_int (&r, "n", 1, 10, &n));
    g_assert_true (dn_fields_int64 (&r, "seed", 0, G_MAXINT64, &seed));
    g_assert_true (dn_fields_number (&r, "f", 0, 1, &f));
    g_assert_true (dn_fields_bool (&r, "b", &b));
    g_assert_true (dn_fields_string (&r, "s", &s));
    g_assert_true (dn_fields_enum (&r, "e", fruit, NULL, &e));
    g_assert_true (dn_fields_enum (&r, "a", kinds, torch, &a));
    g_assert_true (
        dn_fields_number_list (&r, "pair", &(DnRange){0, 1}, 2, 2, FALSE, pair, &n_pair));
    g_assert_true (dn_fields_int_list (&r, "bare", 1, 9, 1, 4, TRUE, bare, &n_bare));
    g_assert_true (dn_fields_int_list (&r, "ints", 1, 9, 0, 3, FALSE, ints, &n_ints));
    g_assert_true (dn_fields_string_list (&r, "names", &names));
    g_assert_true (dn_fields_object (&r, "obj", &child));
    g_assert_true (dn_fields_int (&child, "k", 0, 1, &k));
    g_assert_no_error (error);
    g_assert_cmpint (n, ==, 5);
    g_assert_cmpint (seed, ==, G_MAXINT64);
    g_assert_cmpfloat (f, ==, 0.75);
    g_assert_false (b);
    g_assert_cmpstr (s, ==, "hi");
    g_assert_cmpint (e, ==, 1);
    g_assert_cmpint (a, ==, 1);
    g_assert_cmpint (n_pair, ==, 2);
    g_assert_cmpfloat (pair[1], ==, 0.25);
    g_assert_cmpint (n_bare, ==, 1);
    g_assert_cmpint (bare[0], ==, 3);
    g_assert_cmpint (n_ints, ==, 3);
    g_assert_cmpint (ints[1], ==, 4);
    g_assert_cmpstr (names[1], ==, "y");
    g_assert_null (names[2]);
    g_assert_cmpint (k, ==, 1);
    g_assert_cmpstr (child.section, ==, "obj");
    /* the child's messages name it as the section */
    g_assert_false (dn_fields_int (&child, "k", 2, 3, &k));
    assert_message (error, "x.json: \"obj\".\"k\" is 1; it must be a whole number between 2 and 3");
}

/* An unknown field is named with its place; a near miss gets a suggestion, anything
 * else the list of known fields; ignored members pass. */
static void test_unknown_fields (void)
{
    static const char *const known[] = {"epochs", "batch_size", "seed", NULL};
    g_autoptr (JsonObject) o = dn_test_json_object ("{\"epochs\": 1, \"lr\": 0.1}");
    g_autoptr (GError) error = NULL;
    g_auto (DnFieldReader) r = dn_fields_reader (o, "x.json", "training", 0, &error);
    g_assert_false (dn_fields_check_keys (&r, known));
    assert_message (error, "x.json: unknown field \"lr\" in \"training\"; known fields are "
                           "\"epochs\", \"batch_size\", \"seed\"");
    g_clear_error (&error);

    g_autoptr (JsonObject) typo = dn_test_json_object ("{\"epohcs\": 1}");
    g_auto (DnFieldReader) t = dn_fields_reader (typo, NULL, "training", 0, &error);
    g_assert_false (dn_fields_check_keys (&t, known));
    assert_message (error, "training field \"epohcs\" is unknown; did you mean \"epochs\"?");
    g_clear_error (&error);

    g_autoptr (JsonObject) other = dn_test_json_object ("{\"type\": \"relu\", \"inplace\": true}");
    g_auto (DnFieldReader) l = dn_fields_reader (other, "layer 'a' (relu)", NULL, 0, &error);
    l.ignored = (const char *const[]){"type", "name", NULL};
    g_assert_false (dn_fields_check_keys (&l, (const char *const[]){NULL}));
    assert_message (error, "layer 'a' (relu): unknown field \"inplace\"; it has no fields");
    g_clear_error (&error);
    g_assert_true (dn_fields_check_keys (&l, (const char *const[]){"inplace", NULL}));

    /* a hostile key is quoted, cut and escaped */
    g_autoptr (JsonObject) bad = dn_test_json_object ("{\"a\\u001b[2J\": 1}");
    g_auto (DnFieldReader) b = dn_fields_reader (bad, "x.json", "sec", 0, &error);
    g_assert_false (dn_fields_check_keys (&b, known));
    assert_message (error, "unknown field \"a\\u001b[2J\"");
}

/* Fields of one kind of an object that has several (an optimizer's "type"). */
static void test_kind_fields (void)
{
    static const char *const kinds[] = {"sgd", "adam", "none", NULL};
    static const char *const sgd[] = {"lr", "momentum", NULL};
    static const char *const adam[] = {"lr", "betas", NULL};
    static const char *const none[] = {NULL};
    static const char *const *const fields[] = {sgd, adam, none};
    struct {
        const char *json;
        int kind;
        const char *want;
    } cases[] = {
        {"{\"type\": \"sgd\", \"lr\": 1, \"momentum\": 0}", 0, NULL},
        {"{\"type\": \"sgd\", \"betas\": [0.9, 0.99]}", 0,
         "optimizer \"betas\" does not apply to \"sgd\"; remove it (it is a setting of \"adam\")"},
        {"{\"type\": \"adam\", \"bettas\": 0.9}", 1,
         "optimizer field \"bettas\" is unknown; did you mean \"betas\"?"},
        {"{\"type\": \"adam\", \"learning_rate\": 0.9}", 1,
         "optimizer field \"learning_rate\" is unknown; \"adam\" reads \"type\", \"lr\", "
         "\"betas\""},
        {"{\"type\": \"none\", \"verbose\": true}", 2,
         "optimizer field \"verbose\" is unknown; \"none\" reads only \"type\""},
        {"{\"type\": \"none\", \"lr\": 1}", 2,
         "\"lr\" does not apply to \"none\"; remove it (it "
         "is a setting of \"sgd\", \"adam\")"},
    };
    for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
        g_autoptr (JsonObject) o = dn_test_json_object (cases[i].json);
        g_autoptr (GError) error = NULL;
        g_auto (DnFieldReader) r = dn_fields_reader (o, NULL, "optimizer", 0, &error);
        gboolean ok = dn_fields_check_kind_keys (&r, "type", kinds, fields, cases[i].kind);
        if (cases[i].want == NULL) {
            g_assert_no_error (error);
            g_assert_true (ok);
        } else {
            g_assert_false (ok);
            assert_message (error, cases[i].want);
        }
    }
}

/* A required field that is absent says what it must be. */
static void test_required (void)
{
    g_autoptr (JsonObject) o = dn_test_json_object ("{\"gamma\": null}");
    g_autoptr (GError) error = NULL;
    g_auto (DnFieldReader) r = dn_fields_reader (o, NULL, "scheduler", 0, &error);
    r.required = (const char *const[]){"step_size", "gamma", "type", "milestones", NULL};
    int step = 1, v[4], n = 0;
    double gamma = 0.1;
    g_assert_false (dn_fields_int (&r, "step_size", 1, G_MAXINT, &step));
    assert_message (error, "scheduler \"step_size\" is missing; it must be a whole number >= 1");
    g_clear_error (&error);
    g_assert_false (dn_fields_number (&r, "gamma", 0, INFINITY, &gamma));
    assert_message (error, "scheduler \"gamma\" must be a number >= 0, got null");
    g_clear_error (&error);
    g_assert_false (dn_fields_enum (&r, "type", fruit, NULL, &n));
    assert_message (error, "scheduler \"type\" is missing; it must be one of \"apple\"");
    g_clear_error (&error);
    g_assert_false (dn_fields_int_list (&r, "milestones", 1, G_MAXINT, 0, 4, FALSE, v, &n));
    assert_message (error, "\"milestones\" is missing; it must be an array of at most 4 whole "
                           "numbers >= 1");
    g_clear_error (&error);
    /* with the flag, null is missing */
    g_auto (DnFieldReader) lax =
        dn_fields_reader (o, "x.json", "sec", DN_FIELDS_NULL_IS_ABSENT, &error);
    lax.required = r.required;
    g_assert_false (dn_fields_number (&lax, "gamma", 0, 1, &gamma));
    assert_message (error, "x.json: \"sec\".\"gamma\" is missing; it must be a number in [0, 1]");
}

/* A field of a type of its own fails with the reader's message and the caller's rule. */
static void test_custom_rule (void)
{
    g_autoptr (JsonObject) o = dn_test_json_object ("{\"evaluate_after\": \"sometimes\"}");
    g_autoptr (GError) error = NULL;
    g_auto (DnFieldReader) r = dn_fields_reader (o, "x.json", "continual", 0, &error);
    g_assert_nonnull (dn_fields_member (&r, "evaluate_after"));
    g_assert_false (dn_fields_fail (&r, "evaluate_after", "\"every_task\" or an array"));
    assert_message (error, "x.json: \"continual\".\"evaluate_after\" is \"sometimes\"; it must "
                           "be \"every_task\" or an array");
}

static void test_range_text (void)
{
    const struct {
        DnRange range;
        const char *want;
    } cases[] = {
        {{-INFINITY, INFINITY}, "a finite number"},
        {{0, INFINITY}, "a number >= 0"},
        {{0, INFINITY, TRUE}, "a number > 0"},
        {{-INFINITY, 1, FALSE, TRUE}, "a number < 1"},
        {{0, 1}, "a number in [0, 1]"},
        {{0, 1, FALSE, TRUE}, "a number in [0, 1)"},
        {{1e-4, 0.999}, "a number in [0.0001, 0.999]"},
        {{1, 1048576, .whole = TRUE}, "a whole number between 1 and 1048576"},
        {{-1e6, 1e6}, "a number in [-1000000, 1000000]"},
        {{1, INFINITY, .whole = TRUE}, "a whole number >= 1"},
    };
    for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
        g_autofree char *s = dn_range_describe (&cases[i].range);
        g_assert_cmpstr (s, ==, cases[i].want);
    }
    DnRange unit = {0, 1, FALSE, TRUE};
    g_assert_true (dn_range_contains (&unit, 0));
    g_assert_false (dn_range_contains (&unit, 1));
    g_assert_false (dn_range_contains (&unit, NAN));
    DnRange whole = {0, INFINITY, .whole = TRUE};
    g_assert_false (dn_range_contains (&whole, 2.5));
    g_assert_false (dn_range_contains (&whole, INFINITY));
}

int main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    g_test_add_func ("/engine/config-reader/type-errors", test_type_errors);
    g_test_add_func ("/engine/config-reader/absent-and-null", test_absent_and_null);
    g_test_add_func ("/engine/config-reader/values", test_values);
    g_test_add_func ("/engine/config-reader/unknown-fields", test_unknown_fields);
    g_test_add_func ("/engine/config-reader/kind-fields", test_kind_fields);
    g_test_add_func ("/engine/config-reader/required", test_required);
    g_test_add_func ("/engine/config-reader/custom-rule", test_custom_rule);
    g_test_add_func ("/engine/config-reader/range-text", test_range_text);
    return g_test_run ();
}
