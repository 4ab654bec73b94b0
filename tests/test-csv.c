/* test-csv.c: the CSV reader: headers, delimiters, quoting, label columns and
 * label mapping, scikit-learn's layout, and a clear error for each bad file. */
#include "dn-data.h"
#include "dn-error.h"
#include "dn-test-util.h"

#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static DnDataset *load_text (const char *text, const DnCsvOptions *opts, GError **error)
{
    g_autofree char *dir = dn_test_tmpdir ();
    g_autofree char *path = dn_test_write_file (dir, "data.csv", text, strlen (text));
    DnDataset *d = dn_dataset_load_csv (path, opts, error);
    dn_test_tmpdir_remove (dir);
    return d;
}

static void assert_error_says (const GError *error, int code, const char *const *needles)
{
    g_assert_nonnull (error);
    if (error->domain != DN_ERROR || error->code != code)
        g_error ("expected DN_ERROR code %d, got %s %d: %s", code,
                 g_quark_to_string (error->domain), error->code, error->message);
    for (; *needles != NULL; needles++)
        if (strstr (error->message, *needles) == NULL)
            g_error ("error message lacks '%s': %s", *needles, error->message);
}

#define ASSERT_ERROR_SAYS(err, code, ...)                                                          \
    do {                                                                                           \
        const char *needles_[] = {__VA_ARGS__, NULL};                                              \
        assert_error_says ((err), (code), needles_);                                               \
    } while (0)

static void assert_labels (const DnDataset *d, const int32_t *want, int n)
{
    g_assert_cmpint (d->n, ==, n);
    for (int i = 0; i < n; i++)
        if (d->labels[i] != want[i])
            g_error ("label %d is %d, expected %d", i, d->labels[i], want[i]);
}

static void assert_names (const DnDataset *d, const char *const *want)
{
    g_assert_nonnull (d->class_names);
    g_assert_cmpuint (g_strv_length (d->class_names), ==, g_strv_length ((char **) want));
    for (int i = 0; want[i] != NULL; i++)
        g_assert_cmpstr (d->class_names[i], ==, want[i]);
}

static const char iris_like[] = "sepal_length,sepal_width,petal_length,petal_width,species\n"
                                "7.0,3.2,4.7,1.4,versicolor\n"
                                "5.1,3.5,1.4,0.2,setosa\n"
                                "6.3,3.3,6.0,2.5,virginica\n"
                                "4.9,3.0,1.4,0.2,setosa\n"
                                "6.4,3.2,4.5,1.5,versicolor\n";

static void test_iris_like (void)
{
    g_autoptr (GError) error = NULL;
    g_autoptr (DnDataset) d = load_text (iris_like, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpint (d->n, ==, 5);
    g_assert_cmpint (d->shape.ndim, ==, 1);
    g_assert_cmpint (d->shape.d[0], ==, 4);
    g_assert_null (d->u8);
    g_assert_nonnull (d->f32);
    g_assert_cmpint (d->n_classes, ==, 3);
    /* Order of first appearance, not alphabetical. */
    const int32_t labels[] = {0, 1, 2, 1, 0};
    assert_labels (d, labels, 5);
    const char *names[] = {"versicolor", "setosa", "virginica", NULL};
    assert_names (d, names);
    const float row2[] = {6.3f, 3.3f, 6.0f, 2.5f};
    dn_assert_floats_close (d->f32 + 8, row2, 4, 0, 0);
    g_assert_true (g_str_has_suffix (d->source, "data.csv"));

    /* Tables normalise with one global statistic. */
    DnNormalize norm;
    dn_dataset_compute_normalize (d, &norm);
    g_assert_cmpint (norm.n_channels, ==, 1);
    double s = 0;
    for (int i = 0; i < 20; i++)
        s += d->f32[i];
    g_assert_cmpfloat_with_epsilon (norm.mean[0], s / 20, 1e-5);
}

static void test_no_header_numeric (void)
{
    g_autoptr (GError) error = NULL;
    g_autoptr (DnDataset) d = load_text ("1,2,0\n3,4,2\n5,6,1\n-7.5e1,8,2\n", NULL, &error);
    g_assert_no_error (error);
    const int32_t labels[] = {0, 2, 1, 2};
    assert_labels (d, labels, 4);
    g_assert_cmpint (d->n_classes, ==, 3);
    g_assert_null (d->class_names);
    g_assert_cmpint (d->shape.d[0], ==, 2);
    const float feats[] = {1, 2, 3, 4, 5, 6, -75, 8};
    dn_assert_floats_close (d->f32, feats, 8, 0, 0);
}

static void test_numeric_labels_mapped (void)
{
    g_autoptr (GError) error = NULL;
    /* 1-based labels: the distinct values in sorted order, kept as names. */
    g_autoptr (DnDataset) d = load_text ("1,3\n2,1\n3,2\n4,3\n", NULL, &error);
    g_assert_no_error (error);
    const int32_t labels[] = {2, 0, 1, 2};
    assert_labels (d, labels, 4);
    const char *names[] = {"1", "2", "3", NULL};
    assert_names (d, names);

    /* Non-integer and negative values. */
    g_autoptr (DnDataset) e = load_text ("1,0.5\n2,-1\n3,0.5\n4,2.25\n", NULL, &error);
    g_assert_no_error (error);
    const int32_t labels2[] = {1, 0, 1, 2};
    assert_labels (e, labels2, 4);
    const char *names2[] = {"-1", "0.5", "2.25", NULL};
    assert_names (e, names2);
    g_assert_cmpint (e->n_classes, ==, 3);
}

static void test_label_by_name (void)
{
    g_autoptr (GError) error = NULL;
    DnCsvOptions opts;
    dn_csv_options_init (&opts);
    g_assert_cmpint (opts.label_index, ==, -1);
    g_assert_cmpint (opts.header, ==, -1);
    g_assert_cmpint (opts.delimiter, ==, 0);
    g_assert_null (opts.label_name);
    opts.label_name = "digit";
    const char *text = "x,digit,y\n0.5,7,1\n0.25,3,2\n";
    g_autoptr (DnDataset) d = load_text (text, &opts, &error);
    g_assert_no_error (error);
    g_assert_cmpint (d->shape.d[0], ==, 2);
    const float feats[] = {0.5f, 1, 0.25f, 2};
    dn_assert_floats_close (d->f32, feats, 4, 0, 0);
    /* 3 and 7 do not start at 0: mapped in sorted order. */
    const int32_t labels[] = {1, 0};
    assert_labels (d, labels, 2);

    /* A numeric-looking header is still a header when the label is named; case is forgiven. */
    opts.label_name = "DIGIT";
    g_autoptr (DnDataset) e = load_text (text, &opts, &error);
    g_assert_no_error (error);
    assert_labels (e, labels, 2);
}

static void test_label_not_found (void)
{
    g_autoptr (GError) error = NULL;
    DnCsvOptions opts;
    dn_csv_options_init (&opts);
    opts.label_name = "class";
    DnDataset *d = load_text (iris_like, &opts, &error);
    g_assert_null (d);
    ASSERT_ERROR_SAYS (error, DN_ERROR_CONFIG, "no column named 'class'",
                       "sepal_length, sepal_width, petal_length, petal_width, species");
    g_clear_error (&error);

    opts.header = 0;
    d = load_text ("1,2,3\n", &opts, &error);
    g_assert_null (d);
    ASSERT_ERROR_SAYS (error, DN_ERROR_CONFIG, "no header row", "'class'");
}

static void test_label_index (void)
{
    g_autoptr (GError) error = NULL;
    DnCsvOptions opts;
    dn_csv_options_init (&opts);
    opts.label_index = 0;
    g_autoptr (DnDataset) d = load_text ("2,10,20\n0,30,40\n1,50,60\n", &opts, &error);
    g_assert_no_error (error);
    const int32_t labels[] = {2, 0, 1};
    assert_labels (d, labels, 3);
    const float feats[] = {10, 20, 30, 40, 50, 60};
    dn_assert_floats_close (d->f32, feats, 6, 0, 0);

    opts.label_index = 1;
    g_autoptr (DnDataset) e = load_text ("10,0,20\n30,1,40\n", &opts, &error);
    g_assert_no_error (error);
    dn_assert_floats_close (e->f32, feats, 4, 0, 0);

    opts.label_index = 3;
    DnDataset *f = load_text ("10,0,20\n30,1,40\n", &opts, &error);
    g_assert_null (f);
    ASSERT_ERROR_SAYS (error, DN_ERROR_CONFIG, "index 3", "3 columns");
}

static void test_semicolon (void)
{
    g_autoptr (GError) error = NULL;
    /* Semicolons split fields; commas are decimal separators, as in many European exports. */
    const char *text = "length;width;kind\n1,5;2;a\n3,25;4;b\n-0,5;6;a\n";
    g_autoptr (DnDataset) d = load_text (text, NULL, &error);
    g_assert_no_error (error);
    const float feats[] = {1.5f, 2, 3.25f, 4, -0.5f, 6};
    dn_assert_floats_close (d->f32, feats, 6, 0, 0);
    const int32_t labels[] = {0, 1, 0};
    assert_labels (d, labels, 3);

    /* Tabs, and an explicit delimiter. */
    g_autoptr (DnDataset) t = load_text ("a\tb\tc\n1\t2\tx\n3\t4\ty\n", NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpint (t->n, ==, 2);
    g_assert_cmpint (t->shape.d[0], ==, 2);
    DnCsvOptions opts;
    dn_csv_options_init (&opts);
    opts.delimiter = '|';
    g_autoptr (DnDataset) p = load_text ("1|2|x\n3|4|y\n", &opts, &error);
    g_assert_no_error (error);
    const float pf[] = {1, 2, 3, 4};
    dn_assert_floats_close (p->f32, pf, 4, 0, 0);
}

static void test_quoted (void)
{
    g_autoptr (GError) error = NULL;
    const char *text = "\"width, cm\",\"height\",\"label\"\n"
                       "\"1.5\",2,\"cat, small\"\n"
                       "3,\" 4 \",\"the \"\"big\"\" dog\"\n"
                       "5,6,\"two\nlines\"\n"
                       "7,8,\"cat, small\"\n";
    g_autoptr (DnDataset) d = load_text (text, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpint (d->shape.d[0], ==, 2);
    const float feats[] = {1.5f, 2, 3, 4, 5, 6, 7, 8};
    dn_assert_floats_close (d->f32, feats, 8, 0, 0);
    const int32_t labels[] = {0, 1, 2, 0};
    assert_labels (d, labels, 4);
    const char *names[] = {"cat, small", "the \"big\" dog", "two\nlines", NULL};
    assert_names (d, names);

    /* The quoted line break counts: the bad row is reported on its real line. */
    const char *bad = "a,b,c\n1,2,\"x\ny\"\n3,oops,z\n";
    DnDataset *e = load_text (bad, NULL, &error);
    g_assert_null (e);
    ASSERT_ERROR_SAYS (error, DN_ERROR_FORMAT, "line 4", "column 2 ('b')", "'oops'");
    g_clear_error (&error);

    e = load_text ("a,b,c\n1,2,\"never closed\n3,4,x\n", NULL, &error);
    g_assert_null (e);
    ASSERT_ERROR_SAYS (error, DN_ERROR_FORMAT, "line 2", "never closed");
}

static void test_crlf (void)
{
    g_autoptr (GError) error = NULL;
    const char *text = "\xEF\xBB\xBF"
                       "f1,f2,y\r\n1,2,no\r\n\r\n3,4,yes\r\n5,6,no";
    g_autoptr (DnDataset) d = load_text (text, NULL, &error);
    g_assert_no_error (error);
    const int32_t labels[] = {0, 1, 0};
    assert_labels (d, labels, 3);
    const char *names[] = {"no", "yes", NULL};
    assert_names (d, names);
    const float feats[] = {1, 2, 3, 4, 5, 6};
    dn_assert_floats_close (d->f32, feats, 6, 0, 0);

    /* Line numbers count CRLF lines, blank ones included. */
    DnDataset *e = load_text ("f1,f2,y\r\n1,2,a\r\n\r\n3,4\r\n", NULL, &error);
    g_assert_null (e);
    ASSERT_ERROR_SAYS (error, DN_ERROR_FORMAT, "line 4 has 2 fields");
}

static void test_ragged (void)
{
    g_autoptr (GError) error = NULL;
    DnDataset *d = load_text ("1,2,a\n3,4,b\n5,6,7,c\n8,9,a\n", NULL, &error);
    g_assert_null (d);
    ASSERT_ERROR_SAYS (error, DN_ERROR_FORMAT, "line 3 has 4 fields", "line 1 has 3");
    g_clear_error (&error);

    d = load_text ("a,b,c\n1,2\n", NULL, &error);
    g_assert_null (d);
    ASSERT_ERROR_SAYS (error, DN_ERROR_FORMAT, "line 2", "header");
}

static void test_non_numeric (void)
{
    g_autoptr (GError) error = NULL;
    DnDataset *d = load_text (iris_like, NULL, &error);
    g_assert_no_error (error);
    dn_dataset_free (d);

    const char *text = "sepal_length,sepal_width,species\n"
                       "5.1,3.5,setosa\n"
                       "4.9,three,setosa\n";
    d = load_text (text, NULL, &error);
    g_assert_null (d);
    ASSERT_ERROR_SAYS (error, DN_ERROR_FORMAT, "line 3", "column 2 ('sepal_width')", "'three'",
                       "not a number");
    g_clear_error (&error);

    /* nan, inf and hex are not features; neither is an empty field. */
    const char *bad[] = {"1,nan,a\n", "1,inf,a\n", "1,0x10,a\n", "1,,a\n", "1,1e999,a\n"};
    for (gsize i = 0; i < G_N_ELEMENTS (bad); i++) {
        DnCsvOptions opts;
        dn_csv_options_init (&opts);
        opts.header = 0;
        d = load_text (bad[i], &opts, &error);
        g_assert_null (d);
        ASSERT_ERROR_SAYS (error, DN_ERROR_FORMAT, "line 1, column 2");
        g_clear_error (&error);
    }

    /* A header forced off: its names are reported as data. */
    DnCsvOptions opts;
    dn_csv_options_init (&opts);
    opts.header = 0;
    d = load_text (iris_like, &opts, &error);
    g_assert_null (d);
    ASSERT_ERROR_SAYS (error, DN_ERROR_FORMAT, "line 1, column 1", "'sepal_length'");
}

static void test_empty (void)
{
    g_autoptr (GError) error = NULL;
    const char *empties[] = {"", "\n\n  \n", "\xEF\xBB\xBF"};
    for (gsize i = 0; i < G_N_ELEMENTS (empties); i++) {
        DnDataset *d = load_text (empties[i], NULL, &error);
        g_assert_null (d);
        ASSERT_ERROR_SAYS (error, DN_ERROR_FORMAT, "is empty");
        g_clear_error (&error);
    }
    DnDataset *d = load_text ("a,b,label\n", NULL, &error);
    g_assert_null (d);
    ASSERT_ERROR_SAYS (error, DN_ERROR_FORMAT, "no data rows");
    g_clear_error (&error);

    d = load_text ("1\n2\n3\n", NULL, &error);
    g_assert_null (d);
    ASSERT_ERROR_SAYS (error, DN_ERROR_FORMAT, "single column");
    g_clear_error (&error);

    d = dn_dataset_load_csv ("/nonexistent/dendrite/data.csv", NULL, &error);
    g_assert_null (d);
    ASSERT_ERROR_SAYS (error, DN_ERROR_IO, "/nonexistent/dendrite/data.csv", "does not exist");
}

static void test_numbers_exact (void)
{
    /* Every spelling of a number gives the float that strtod gives. */
    g_autoptr (GError) error = NULL;
    GString *text = g_string_new (NULL);
    GArray *want = g_array_new (FALSE, FALSE, sizeof (float));
    GRand *rand = g_rand_new_with_seed (5);
    char buf[64];
    for (int i = 0; i < 400; i++) {
        double v =
            g_rand_double_range (rand, -1e6, 1e6) * pow (10.0, g_rand_int_range (rand, -12, 4));
        int prec = g_rand_int_range (rand, 0, 19);
        switch (i % 4) {
        case 0:
            g_ascii_formatd (buf, sizeof buf, "%.17g", v);
            break;
        case 1:
            g_snprintf (buf, sizeof buf, "%.*f", prec, v);
            break;
        case 2:
            g_ascii_formatd (buf, sizeof buf, "%.6e", v);
            break;
        default:
            g_snprintf (buf, sizeof buf, "%s%lld", i % 8 == 3 ? "+000" : "-",
                        (long long) g_rand_int (rand) * 1000003LL);
        }
        float f = (float) g_ascii_strtod (buf, NULL);
        g_array_append_val (want, f);
        g_string_append_printf (text, "%s,%d\n", buf, i % 3);
    }
    g_autoptr (DnDataset) d = load_text (text->str, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpint (d->n, ==, 400);
    g_assert_cmpmem (d->f32, 400 * sizeof (float), want->data, 400 * sizeof (float));
    g_rand_free (rand);
    g_array_free (want, TRUE);
    g_string_free (text, TRUE);
}

static void test_memory (void)
{
    g_autoptr (GError) error = NULL;
    const char text[] = "1,2,a\n3,4,b\n";
    /* Not NUL-terminated: only len bytes are read. */
    g_autoptr (DnDataset) d = dn_dataset_parse_csv (text, 6, "inline", NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpint (d->n, ==, 1);
    g_assert_cmpstr (d->source, ==, "inline");
    g_assert_cmpint (d->n_classes, ==, 1);
}

static void test_sklearn_layout (void)
{
    g_autoptr (GError) error = NULL;
    const char *text = "4,2,cat,dog,bird\n"
                       "1.0,2.0,0\n"
                       "3.0,4.0,2\n"
                       "5.0,6.0,1\n"
                       "7.0,8.0,0\n";
    g_autoptr (DnDataset) d = load_text (text, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpint (d->shape.d[0], ==, 2);
    g_assert_cmpint (d->n_classes, ==, 3);
    const int32_t labels[] = {0, 2, 1, 0};
    assert_labels (d, labels, 4);
    const char *names[] = {"cat", "dog", "bird", NULL};
    assert_names (d, names);

    /* As in scikit-learn's iris.csv: the first row as wide as the data rows. */
    const char *iris = "3,4,setosa,versicolor,virginica\n"
                       "5.1,3.5,1.4,0.2,0\n"
                       "6.3,3.3,6.0,2.5,2\n"
                       "7.0,3.2,4.7,1.4,1\n";
    g_autoptr (DnDataset) i3 = load_text (iris, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpint (i3->shape.d[0], ==, 4);
    const int32_t labels3[] = {0, 2, 1};
    assert_labels (i3, labels3, 3);
    const char *names3[] = {"setosa", "versicolor", "virginica", NULL};
    assert_names (i3, names3);

    /* When the counts do not match it is an ordinary first row. */
    g_autoptr (DnDataset) e = load_text ("9,2,7\n1,2,0\n3,4,1\n", NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpint (e->n, ==, 3);
    g_assert_null (e->class_names);
}

static void test_sklearn_iris (void)
{
    const char *path = "/usr/lib/python3/dist-packages/sklearn/datasets/data/iris.csv";
    if (!g_file_test (path, G_FILE_TEST_EXISTS)) {
        g_test_skip ("scikit-learn's iris.csv is not installed (python3-sklearn)");
        return;
    }
    g_autoptr (GError) error = NULL;
    g_autoptr (DnDataset) d = dn_dataset_load_csv (path, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpint (d->n, ==, 150);
    g_assert_cmpint (d->shape.d[0], ==, 4);
    g_assert_cmpint (d->n_classes, ==, 3);
    const char *names[] = {"setosa", "versicolor", "virginica", NULL};
    assert_names (d, names);
    g_assert_cmpint (d->labels[0], ==, 0);
    g_assert_cmpint (d->labels[149], ==, 2);
}

/* ---- the training data's classes ---- */

static DnDataset *parse_with (const char *text, const DnDataset *train, GError **error)
{
    DnCsvOptions opts;
    dn_csv_options_init (&opts);
    DnClassList classes;
    if (train != NULL) {
        dn_dataset_classes (train, &classes);
        opts.classes = &classes;
    }
    return dn_dataset_parse_csv (text, strlen (text), "test.csv", &opts, error);
}

/* A test file listing the same names in another order gets the training numbers. */
static void test_classes_names (void)
{
    g_autoptr (GError) error = NULL;
    const char train_text[] = "x,y\n1,a\n2,b\n3,c\n";
    g_autoptr (DnDataset) train = parse_with (train_text, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpint (train->label_kind, ==, DN_LABELS_NAME);
    g_autoptr (DnDataset) test = parse_with ("x,y\n3,c\n2,b\n1,a\n3,c\n", train, &error);
    g_assert_no_error (error);
    const int32_t want[] = {2, 1, 0, 2};
    assert_labels (test, want, 4);
    g_assert_cmpint (test->n_classes, ==, 3);
    const char *names[] = {"a", "b", "c", NULL};
    assert_names (test, names);
    /* a subset of the classes keeps the count */
    g_autoptr (DnDataset) some = parse_with ("x,y\n3,c\n", train, &error);
    g_assert_no_error (error);
    g_assert_cmpint (some->labels[0], ==, 2);
    g_assert_cmpint (some->n_classes, ==, 3);
    /* a label training never saw is an error naming its first line */
    g_autoptr (DnDataset) bad = parse_with ("x,y\n3,c\n2,d\n1,d\n", train, &error);
    g_assert_null (bad);
    ASSERT_ERROR_SAYS (error, DN_ERROR_FORMAT, "test.csv", "line 3", "'d'", "'a', 'b', 'c'");
}

/* Numbers: 0-based integers stay the class numbers; other numbers map by value. */
static void test_classes_numbers (void)
{
    g_autoptr (GError) error = NULL;
    g_autoptr (DnDataset) idx_train = parse_with ("1.5,0\n2,1\n3,2\n", NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpint (idx_train->label_kind, ==, DN_LABELS_INDEX);
    g_autoptr (DnDataset) idx_test = parse_with ("1,2\n1,2.0\n4,0\n", idx_train, &error);
    g_assert_no_error (error);
    const int32_t want_idx[] = {2, 2, 0};
    assert_labels (idx_test, want_idx, 3);
    g_autoptr (DnDataset) idx_bad = parse_with ("1,2\n1,3\n", idx_train, &error);
    g_assert_null (idx_bad);
    ASSERT_ERROR_SAYS (error, DN_ERROR_FORMAT, "line 2", "'3'", "0 to 2");
    g_clear_error (&error);

    /* 5, 7.25, 10: not 0-based, so classes are the sorted values */
    g_autoptr (DnDataset) val_train = parse_with ("1,10\n2,5\n3,7.25\n", NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpint (val_train->label_kind, ==, DN_LABELS_VALUE);
    const char *vnames[] = {"5", "7.25", "10", NULL};
    assert_names (val_train, vnames);
    /* on its own this file would number 7.25 as 0; through the training classes it is 1 */
    g_autoptr (DnDataset) val_test = parse_with ("1,7.25\n2,10.0\n", val_train, &error);
    g_assert_no_error (error);
    const int32_t want_val[] = {1, 2};
    assert_labels (val_test, want_val, 2);
    g_autoptr (DnDataset) val_bad = parse_with ("1,7.25\n2,6\n", val_train, &error);
    g_assert_null (val_bad);
    ASSERT_ERROR_SAYS (error, DN_ERROR_FORMAT, "line 2", "'6'", "'5', '7.25', '10'");
}

/* The class list goes through the model's metadata text and back. */
static void test_classes_json (void)
{
    g_autoptr (GError) error = NULL;
    char *names[] = {(char *) "setosa", (char *) "versi\"color", NULL};
    DnClassList c = {DN_LABELS_NAME, 2, names};
    g_autofree char *text = dn_class_list_to_json (&c, "species");
    DnClassList back;
    g_autofree char *column = NULL;
    g_assert_true (dn_class_list_from_json (text, &back, &column, &error));
    g_assert_no_error (error);
    g_assert_cmpint (back.kind, ==, DN_LABELS_NAME);
    g_assert_cmpint (back.n_classes, ==, 2);
    g_assert_cmpstr (back.names[1], ==, "versi\"color");
    g_assert_cmpstr (column, ==, "species");
    dn_class_list_clear (&back);

    DnClassList plain = {DN_LABELS_INDEX, 10, NULL};
    g_autofree char *ptext = dn_class_list_to_json (&plain, NULL);
    g_assert_true (dn_class_list_from_json (ptext, &back, NULL, &error));
    g_assert_cmpint (back.n_classes, ==, 10);
    g_assert_null (back.names);

    const char *damaged[] = {"[1]", "{\"labels\":\"name\",\"count\":2,\"names\":[\"a\"]}",
                             "{\"labels\":\"name\",\"count\":1}",
                             "{\"labels\":\"colour\",\"count\":1}",
                             "{\"labels\":\"name\",\"count\":1,\"names\":[3]}"};
    for (gsize i = 0; i < G_N_ELEMENTS (damaged); i++) {
        g_assert_false (dn_class_list_from_json (damaged[i], &back, NULL, &error));
        ASSERT_ERROR_SAYS (error, DN_ERROR_FORMAT, "dendrite_classes");
        g_clear_error (&error);
        g_assert_null (back.names);
    }
}

/* A NUL byte is not text: refused with its line, in memory and from a file. */
static void test_nul_byte (void)
{
    g_autoptr (GError) error = NULL;
    const char text[] = "a,b\n1,2\n3,\0" "4\n";
    g_autoptr (DnDataset) d = dn_dataset_parse_csv (text, sizeof text - 1, "nul.csv", NULL, &error);
    g_assert_null (d);
    ASSERT_ERROR_SAYS (error, DN_ERROR_FORMAT, "nul.csv", "line 3", "NUL");
    g_clear_error (&error);
    g_autofree char *dir = dn_test_tmpdir ();
    g_autofree char *path = dn_test_write_file (dir, "nul.csv", text, sizeof text - 1);
    g_autoptr (DnDataset) f = dn_dataset_load_csv (path, NULL, &error);
    g_assert_null (f);
    ASSERT_ERROR_SAYS (error, DN_ERROR_FORMAT, "line 3", "NUL");
    g_clear_error (&error);
    dn_test_tmpdir_remove (dir);
    /* an endless device stops at its first bytes, not at the size limit */
    if (g_file_test ("/dev/zero", G_FILE_TEST_EXISTS)) {
        g_autoptr (DnDataset) z = dn_dataset_load_csv ("/dev/zero", NULL, &error);
        g_assert_null (z);
        ASSERT_ERROR_SAYS (error, DN_ERROR_FORMAT, "/dev/zero", "line 1", "NUL");
    }
}

typedef struct {
    const char *path;
    const GString *text;
} FifoFeed;

/* Writes the text into the pipe until the reader stops reading. */
static gpointer feed_fifo (gpointer data)
{
    const FifoFeed *f = data;
    int fd = open (f->path, O_WRONLY);
    gsize done = 0;
    while (fd >= 0 && done < f->text->len) {
        ssize_t n = write (fd, f->text->str + done, f->text->len - done);
        if (n <= 0)
            break;
        done += (gsize) n;
    }
    if (fd >= 0)
        close (fd);
    return NULL;
}

/* Reading stops at the size limit with a message naming it. */
static void test_size_limit (void)
{
    g_autoptr (GError) error = NULL;
    GString *big = g_string_new ("a,b\n");
    while (big->len < 200000)
        g_string_append (big, "1,2\n");
    g_autofree char *dir = dn_test_tmpdir ();
    g_autofree char *path = dn_test_write_file (dir, "big.csv", big->str, big->len);
    DnCsvOptions opts;
    dn_csv_options_init (&opts);
    opts.max_bytes = 100000;
    g_autoptr (DnDataset) d = dn_dataset_load_csv (path, &opts, &error);
    g_assert_null (d);
    ASSERT_ERROR_SAYS (error, DN_ERROR_FORMAT, "big.csv", "larger than 100000 bytes (0.1 MB)");
    g_clear_error (&error);
    opts.max_bytes = big->len;
    g_autoptr (DnDataset) ok = dn_dataset_load_csv (path, &opts, &error);
    g_assert_no_error (error);
    g_assert_cmpint (ok->n, ==, (int) (big->len / 4) - 1);
    /* a stream has no size to look at: reading stops at the limit */
    g_autofree char *fifo = g_build_filename (dir, "stream.csv", NULL);
    if (mkfifo (fifo, 0600) == 0) {
        FifoFeed feed = {fifo, big};
        GThread *writer = g_thread_new ("feed", feed_fifo, &feed);
        opts.max_bytes = 100000;
        g_autoptr (DnDataset) s = dn_dataset_load_csv (fifo, &opts, &error);
        g_assert_null (s);
        ASSERT_ERROR_SAYS (error, DN_ERROR_FORMAT, "stream.csv", "larger than 100000 bytes");
        g_thread_join (writer);
    }
    g_string_free (big, TRUE);
    dn_test_tmpdir_remove (dir);
}

int main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    signal (SIGPIPE, SIG_IGN); /* the size-limit test's writer outlives its reader */
    g_test_add_func ("/engine/csv/iris-like", test_iris_like);
    g_test_add_func ("/engine/csv/no-header-numeric", test_no_header_numeric);
    g_test_add_func ("/engine/csv/numeric-labels-mapped", test_numeric_labels_mapped);
    g_test_add_func ("/engine/csv/label-by-name", test_label_by_name);
    g_test_add_func ("/engine/csv/label-not-found", test_label_not_found);
    g_test_add_func ("/engine/csv/label-index", test_label_index);
    g_test_add_func ("/engine/csv/semicolon", test_semicolon);
    g_test_add_func ("/engine/csv/quoted", test_quoted);
    g_test_add_func ("/engine/csv/crlf", test_crlf);
    g_test_add_func ("/engine/csv/ragged", test_ragged);
    g_test_add_func ("/engine/csv/non-numeric", test_non_numeric);
    g_test_add_func ("/engine/csv/empty", test_empty);
    g_test_add_func ("/engine/csv/memory", test_memory);
    g_test_add_func ("/engine/csv/numbers-exact", test_numbers_exact);
    g_test_add_func ("/engine/csv/sklearn-layout", test_sklearn_layout);
    g_test_add_func ("/engine/csv/sklearn-iris", test_sklearn_iris);
    g_test_add_func ("/engine/csv/classes/names", test_classes_names);
    g_test_add_func ("/engine/csv/classes/numbers", test_classes_numbers);
    g_test_add_func ("/engine/csv/classes/json", test_classes_json);
    g_test_add_func ("/engine/csv/nul-byte", test_nul_byte);
    g_test_add_func ("/engine/csv/size-limit", test_size_limit);
    return g_test_run ();
}
