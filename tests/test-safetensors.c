/* test-safetensors.c: the safetensors reader and writer.
 *
 * Round trips through a file, the layout rules (8-aligned data, space
 * padding, "format": "pt"), a file laid out the way PyTorch's safetensors
 * writes it (tests/fixtures/st-reference.safetensors, from
 * tools/gen-safetensors-fixture.py), every dtype we convert, and one test
 * per kind of hostile file: each must give the right error code and a
 * message that names the file and the fault.
 */
#include "dn-error.h"
#include "dn-safetensors.h"
#include "dn-test-util.h"

#include <math.h>
#include <string.h>

#define WHAT "hostile.safetensors"

/* u64 LE header length + header + data_len bytes of data (or zeros). */
static guint8 *make_file (const char *header, gsize header_len, const void *data, gsize data_len,
                          gsize *len)
{
    *len = 8 + header_len + data_len;
    guint8 *bytes = g_malloc0 (*len);
    guint64 n = GUINT64_TO_LE ((guint64) header_len);
    memcpy (bytes, &n, 8);
    memcpy (bytes + 8, header, header_len);
    if (data != NULL)
        memcpy (bytes + 8 + header_len, data, data_len);
    return bytes;
}

static void assert_message_has (const GError *error, const char *fragment)
{
    if (strstr (error->message, fragment) == NULL) {
        g_autofree char *msg = g_strdup_printf ("error message \"%s\" does not contain \"%s\"",
                                                error->message, fragment);
        g_test_fail_printf ("%s", msg);
    }
}

static void expect_bytes_error (const guint8 *bytes, gsize len, int code, const char *fragment)
{
    g_autoptr (GError) error = NULL;
    g_autoptr (DnSafetensors) st = dn_safetensors_parse (bytes, len, WHAT, &error);
    g_assert_null (st);
    g_assert_error (error, DN_ERROR, code);
    g_test_message ("message: %s", error->message);
    assert_message_has (error, WHAT);
    assert_message_has (error, fragment);
}

/* ---- hostile headers, one test each ------------------------------------ */

typedef struct {
    const char *path;
    const char *header;
    gsize data_len; /* bytes of zeros after the header */
    int code;
    const char *fragment; /* must appear in the message */
} HeaderCase;

#define T(name, dtype, shape, offsets)                                                             \
    "\"" name "\":{\"dtype\":" dtype ",\"shape\":" shape ",\"data_offsets\":" offsets "}"

static const HeaderCase header_cases[] = {
    {"/engine/safetensors/header-not-brace", "[1, 2]", 0, DN_ERROR_FORMAT, "start with '{'"},
    {"/engine/safetensors/header-bad-json", "{\"a\": {\"dtype\": ", 0, DN_ERROR_FORMAT,
     "not valid JSON"},
    {"/engine/safetensors/header-trailing-junk", "{} x", 0, DN_ERROR_FORMAT, "not valid JSON"},
    {"/engine/safetensors/header-single-quotes", "{'a': 1}", 0, DN_ERROR_FORMAT, "not valid JSON"},
    {"/engine/safetensors/header-comment", "{/* \" */ }", 0, DN_ERROR_FORMAT, "not valid JSON"},
    {"/engine/safetensors/header-invalid-utf8", "{\"\xff\xfe\": 1}", 0, DN_ERROR_FORMAT, "UTF-8"},
    {"/engine/safetensors/entry-not-object", "{\"w\": [1, 2]}", 0, DN_ERROR_FORMAT,
     "tensor \"w\": the entry is an array"},
    {"/engine/safetensors/missing-dtype", "{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
     DN_ERROR_FORMAT, "tensor \"w\": \"dtype\" is nothing"},
    {"/engine/safetensors/missing-shape", "{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4,
     DN_ERROR_FORMAT, "tensor \"w\": \"shape\" is nothing"},
    {"/engine/safetensors/missing-offsets", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4,
     DN_ERROR_FORMAT, "tensor \"w\": \"data_offsets\" must be"},
    {"/engine/safetensors/dtype-not-string", "{" T ("w", "32", "[1]", "[0,4]") "}", 4,
     DN_ERROR_FORMAT, "\"dtype\" is 32"},
    {"/engine/safetensors/shape-not-array", "{" T ("w", "\"F32\"", "\"1\"", "[0,4]") "}", 4,
     DN_ERROR_FORMAT, "\"shape\" is a string"},
    {"/engine/safetensors/shape-float", "{" T ("w", "\"F32\"", "[1.5]", "[0,4]") "}", 4,
     DN_ERROR_FORMAT, "shape[0] is 1.5"},
    {"/engine/safetensors/offsets-one", "{" T ("w", "\"F32\"", "[1]", "[4]") "}", 4,
     DN_ERROR_FORMAT, "\"data_offsets\" must be an array of two"},
    {"/engine/safetensors/offsets-string", "{" T ("w", "\"F32\"", "[1]", "[\"0\",4]") "}", 4,
     DN_ERROR_FORMAT, "\"data_offsets\" must be"},
    {"/engine/safetensors/dtype-unknown", "{" T ("w", "\"F17\"", "[1]", "[0,4]") "}", 4,
     DN_ERROR_FORMAT, "unknown dtype \"F17\""},
    {"/engine/safetensors/dtype-fp8", "{" T ("w", "\"F8_E4M3\"", "[4]", "[0,4]") "}", 4,
     DN_ERROR_UNSUPPORTED, "dtype \"F8_E4M3\" cannot be read"},
    {"/engine/safetensors/dim-negative", "{" T ("w", "\"F32\"", "[2,-3]", "[0,4]") "}", 4,
     DN_ERROR_FORMAT, "shape[1] is -3"},
    {"/engine/safetensors/dim-above-int64",
     "{" T ("w", "\"F32\"", "[9223372036854775808]", "[0,4]") "}", 4, DN_ERROR_FORMAT,
     "shape[0] is"},
    {"/engine/safetensors/dims-overflow",
     "{" T ("w", "\"F32\"", "[4294967296,4294967296,4294967296]", "[0,4]") "}", 4, DN_ERROR_FORMAT,
     "too large"},
    {"/engine/safetensors/dims-huge-product",
     "{" T ("w", "\"F64\"", "[2305843009213693952]", "[0,4]") "}", 4, DN_ERROR_FORMAT,
     "needs more than 2^64 bytes"},
    {"/engine/safetensors/dims-too-many", "{" T ("w", "\"F32\"", "[1,1,1,1,1,1,1]", "[0,4]") "}", 4,
     DN_ERROR_UNSUPPORTED, "7 dimensions"},
    {"/engine/safetensors/offsets-negative", "{" T ("w", "\"F32\"", "[1]", "[-4,0]") "}", 4,
     DN_ERROR_FORMAT, "tensor \"w\": \"data_offsets\" must be"},
    {"/engine/safetensors/offsets-reversed", "{" T ("w", "\"F32\"", "[1]", "[4,0]") "}", 4,
     DN_ERROR_FORMAT, "end before they begin"},
    {"/engine/safetensors/offsets-beyond", "{" T ("w", "\"F32\"", "[100]", "[0,400]") "}", 16,
     DN_ERROR_FORMAT, "only 16 bytes"},
    {"/engine/safetensors/offsets-wrong-size", "{" T ("w", "\"F32\"", "[3]", "[0,8]") "}", 8,
     DN_ERROR_FORMAT, "shape (3) of F32 needs 12 bytes"},
    {"/engine/safetensors/overlap",
     "{" T ("a", "\"F32\"", "[2]", "[0,8]") "," T ("b", "\"F32\"", "[2]", "[4,12]") "}", 12,
     DN_ERROR_FORMAT, "\"a\" and \"b\" overlap"},
    {"/engine/safetensors/overlap-empty-inside",
     "{" T ("a", "\"F32\"", "[2]", "[0,8]") "," T ("e", "\"F32\"", "[0]", "[4,4]") "}", 8,
     DN_ERROR_FORMAT, "overlap"},
    {"/engine/safetensors/hole",
     "{" T ("a", "\"F32\"", "[1]", "[0,4]") "," T ("b", "\"F32\"", "[1]", "[8,12]") "}", 12,
     DN_ERROR_FORMAT, "bytes 4..8 belong to no tensor"},
    {"/engine/safetensors/hole-at-start", "{" T ("a", "\"F32\"", "[1]", "[4,8]") "}", 8,
     DN_ERROR_FORMAT, "bytes 0..4 belong to no tensor"},
    {"/engine/safetensors/trailing-bytes", "{" T ("a", "\"F32\"", "[1]", "[0,4]") "}", 12,
     DN_ERROR_FORMAT, "trailing bytes"},
    {"/engine/safetensors/duplicate-name",
     "{" T ("a", "\"F32\"", "[1]", "[0,4]") "," T ("a", "\"F32\"", "[1]", "[4,8]") "}", 8,
     DN_ERROR_FORMAT, "names \"a\" twice"},
    {"/engine/safetensors/duplicate-name-escaped",
     "{" T ("a", "\"F32\"", "[1]", "[0,4]") "," T ("\\u0061", "\"F32\"", "[1]", "[4,8]") "}", 8,
     DN_ERROR_FORMAT, "names \"a\" twice"},
    {"/engine/safetensors/name-with-nul", "{" T ("a\\u0000b", "\"F32\"", "[1]", "[0,4]") "}", 4,
     DN_ERROR_FORMAT, "NUL character"},
    {"/engine/safetensors/duplicate-key",
     "{\"w\":{\"dtype\":\"F32\",\"dtype\":\"I8\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
     DN_ERROR_FORMAT, "key \"dtype\" twice"},
    {"/engine/safetensors/metadata-not-object", "{\"__metadata__\": [\"a\"]}", 0, DN_ERROR_FORMAT,
     "__metadata__ is an array"},
    {"/engine/safetensors/metadata-nested", "{\"__metadata__\": {\"net\": {\"k\": 1}}}", 0,
     DN_ERROR_FORMAT, "__metadata__ value \"net\" is an object"},
    {"/engine/safetensors/metadata-number", "{\"__metadata__\": {\"epoch\": 3}}", 0,
     DN_ERROR_FORMAT, "must be strings"},
};

static void test_header_case (gconstpointer data)
{
    const HeaderCase *c = data;
    gsize len;
    g_autofree guint8 *bytes = make_file (c->header, strlen (c->header), NULL, c->data_len, &len);
    expect_bytes_error (bytes, len, c->code, c->fragment);
}

/* ---- names echoed in messages ------------------------------------------ */

/* No raw control character, escape or bidirectional override reaches a message. */
static void assert_message_tame (const GError *error)
{
    g_assert_true (g_utf8_validate (error->message, -1, NULL));
    for (const char *p = error->message; *p != '\0'; p = g_utf8_next_char (p)) {
        gunichar c = g_utf8_get_char (p);
        if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || (c >= 0x202a && c <= 0x202e) ||
            (c >= 0x2066 && c <= 0x2069))
            g_test_fail_printf ("error message \"%s\" holds U+%04X raw", error->message, (guint) c);
    }
}

/* Tensor names, metadata keys and dtypes from the file are shown through dn_quote:
 * in double quotes, escapes written out, cut to DN_QUOTE_CHARS characters. */
static void test_names_quoted (void)
{
    static const struct {
        const char *header;
        gsize data_len;
        const char *fragment;
    } cases[] = {
        /* an escape sequence that would clear the terminal, in a tensor name */
        {"{" T ("w\\u001b[2J", "\"F32\"", "[1]", "[0,8]") "}", 8,
         "tensor \"w\\u001b[2J\": data_offsets [0, 8] hold 8 bytes"},
        /* a right-to-left override, in a dtype */
        {"{" T ("w", "\"F\\u202e23\"", "[1]", "[0,4]") "}", 4, "unknown dtype \"F\\u202e23\";"},
        /* a line break in a metadata key */
        {"{\"__metadata__\": {\"a\\nb\": 1}}", 0, "__metadata__ value \"a\\u000ab\" is 1"},
        /* both names of an overlap */
        {"{" T ("\\u0007x", "\"F32\"", "[2]", "[0,8]") "," T ("y\\u0085", "\"F32\"", "[1]",
                                                              "[4,8]") "}",
         8, "tensors \"\\u0007x\" and \"y\\u0085\" overlap"},
    };
    for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
        gsize len;
        g_autofree guint8 *bytes =
            make_file (cases[i].header, strlen (cases[i].header), NULL, cases[i].data_len, &len);
        g_autoptr (GError) error = NULL;
        g_autoptr (DnSafetensors) st = dn_safetensors_parse (bytes, len, WHAT, &error);
        g_assert_null (st);
        g_assert_error (error, DN_ERROR, DN_ERROR_FORMAT);
        g_test_message ("message: %s", error->message);
        assert_message_has (error, cases[i].fragment);
        assert_message_tame (error);
    }

    /* a name of 300 characters is cut to DN_QUOTE_CHARS, as every other message cuts one */
    g_autofree char *name = g_strnfill (300, 'n');
    g_autofree char *header =
        g_strdup_printf ("{\"%s\":{\"dtype\":\"Q8\",\"shape\":[1],\"data_offsets\":[0,1]}}", name);
    gsize len;
    g_autofree guint8 *bytes = make_file (header, strlen (header), NULL, 1, &len);
    g_autoptr (GError) error = NULL;
    g_autoptr (DnSafetensors) st = dn_safetensors_parse (bytes, len, WHAT, &error);
    g_assert_null (st);
    g_autofree char *cut = g_strnfill (DN_QUOTE_CHARS, 'n');
    g_autofree char *want = g_strdup_printf ("tensor \"%s…\": unknown dtype \"Q8\"", cut);
    assert_message_has (error, want);
}

/* ---- hostile files that are not about the JSON -------------------------- */

static void test_too_short (void)
{
    const guint8 bytes[] = {4, 0, 0, 0, 0};
    expect_bytes_error (bytes, sizeof bytes, DN_ERROR_FORMAT, "too short");
    expect_bytes_error (bytes, 0, DN_ERROR_FORMAT, "0 bytes is too short");
}

static void test_header_too_large (void)
{
    gsize len;
    g_autofree guint8 *bytes = make_file ("{}", 2, NULL, 0, &len);
    guint64 n = GUINT64_TO_LE ((guint64) 200 * 1000 * 1000);
    memcpy (bytes, &n, 8);
    expect_bytes_error (bytes, len, DN_ERROR_FORMAT, "100 MB");
    n = GUINT64_TO_LE (G_MAXUINT64);
    memcpy (bytes, &n, 8);
    expect_bytes_error (bytes, len, DN_ERROR_FORMAT, "100 MB");
}

static void test_header_beyond_file (void)
{
    gsize len;
    g_autofree guint8 *bytes = make_file ("{}", 2, NULL, 0, &len);
    guint64 n = GUINT64_TO_LE (1000);
    memcpy (bytes, &n, 8);
    expect_bytes_error (bytes, len, DN_ERROR_FORMAT, "only 2 bytes follow");
}

static void test_header_empty (void)
{
    gsize len;
    g_autofree guint8 *bytes = make_file ("", 0, NULL, 4, &len);
    expect_bytes_error (bytes, len, DN_ERROR_FORMAT, "start with '{'");
}

static void test_header_nul (void)
{
    const char header[] = "{\"a\":\0 1}";
    gsize len;
    g_autofree guint8 *bytes = make_file (header, sizeof header - 1, NULL, 0, &len);
    expect_bytes_error (bytes, len, DN_ERROR_FORMAT, "NUL byte at offset 13");
}

static void test_header_deep (void)
{
    /* json-glib recurses once per level; this would overflow its stack. */
    const int depth = 200000;
    GString *h = g_string_new ("{\"a\":");
    for (int i = 0; i < depth; i++)
        g_string_append_c (h, '[');
    for (int i = 0; i < depth; i++)
        g_string_append_c (h, ']');
    g_string_append_c (h, '}');
    gsize len;
    g_autofree guint8 *bytes = make_file (h->str, h->len, NULL, 0, &len);
    g_string_free (h, TRUE);
    expect_bytes_error (bytes, len, DN_ERROR_FORMAT, "nests more than");
}

static void test_pytorch_zip (void)
{
    const guint8 zip[] = "PK\x03\x04\x14\x00\x00\x00\x08\x00archive/data.pkl";
    expect_bytes_error (zip, sizeof zip - 1, DN_ERROR_UNSUPPORTED, "zip archive");
    expect_bytes_error (zip, sizeof zip - 1, DN_ERROR_UNSUPPORTED,
                        "save_file(model.state_dict(), 'model.safetensors')");
    expect_bytes_error (zip, 4, DN_ERROR_UNSUPPORTED, "PyTorch checkpoint");
}

static void test_pytorch_pickle (void)
{
    const guint8 pickle[] = "\x80\x02\x8a\x0alZ\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.";
    expect_bytes_error (pickle, sizeof pickle - 1, DN_ERROR_UNSUPPORTED, "pickled PyTorch");
    expect_bytes_error (pickle, sizeof pickle - 1, DN_ERROR_UNSUPPORTED,
                        "save_file(model.state_dict(), 'model.safetensors')");
}

/* A header whose length starts with 0x80 (or "PK") is still safetensors. */
static void test_sniff_not_fooled (void)
{
    GString *h = g_string_new ("{\"__metadata__\":{\"pad\":\"");
    while (h->len < 0x80 - 3)
        g_string_append_c (h, 'x');
    g_string_append (h, "\"}}");
    g_assert_cmpuint (h->len, ==, 0x80);
    gsize len;
    g_autofree guint8 *bytes = make_file (h->str, h->len, NULL, 0, &len);
    g_string_free (h, TRUE);
    g_assert_cmpuint (bytes[0], ==, 0x80);
    g_autoptr (GError) error = NULL;
    g_autoptr (DnSafetensors) st = dn_safetensors_parse (bytes, len, WHAT, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (st->tensors->len, ==, 0);
}

static void test_missing_file (void)
{
    g_autoptr (GError) error = NULL;
    g_autoptr (DnSafetensors) st = dn_safetensors_read ("/nonexistent/model.safetensors", &error);
    g_assert_null (st);
    g_assert_error (error, DN_ERROR, DN_ERROR_IO);
    assert_message_has (error, "/nonexistent/model.safetensors");
}

/* ---- good files --------------------------------------------------------- */

static void test_reference (void)
{
    g_autofree char *path = dn_test_fixture_path ("st-reference.safetensors");
    g_autoptr (GError) error = NULL;
    g_autoptr (DnSafetensors) st = dn_safetensors_read (path, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (dn_safetensors_metadata (st, "format"), ==, "pt");
    g_assert_cmpuint (st->tensors->len, ==, 4);

    const char *names[] = {"half", "brain", "bn.num_batches_tracked", "fc.weight"};
    const char *dtypes[] = {"F16", "BF16", "I64", "F32"};
    for (int i = 0; i < 4; i++) {
        DnStTensor *t = g_ptr_array_index (st->tensors, i);
        g_assert_cmpstr (t->name, ==, names[i]);
        g_assert_cmpstr (t->dtype, ==, dtypes[i]);
        g_assert_true (dn_safetensors_find (st, names[i]) == t);
    }

    DnStTensor *half = dn_safetensors_find (st, "half");
    DnShape s23 = dn_shape_2d (2, 3);
    g_assert_true (dn_shape_equal (&half->shape, &s23));
    const float want_half[] = {1.0f, -2.5f, 0x1p-14f, 0x1p-24f, 65504.0f, -0.0f};
    g_assert_cmpmem (half->data, sizeof want_half, want_half, sizeof want_half);

    DnStTensor *brain = dn_safetensors_find (st, "brain");
    g_assert_cmpint (brain->shape.ndim, ==, 1);
    g_assert_cmpint (brain->shape.d[0], ==, 3);
    const float want_brain[] = {0.5f, -3.140625f, 0x1p100f};
    g_assert_cmpmem (brain->data, sizeof want_brain, want_brain, sizeof want_brain);

    DnStTensor *count = dn_safetensors_find (st, "bn.num_batches_tracked");
    g_assert_cmpint (count->shape.ndim, ==, 0);
    g_assert_cmpfloat (count->data[0], ==, 1234567.0f);

    DnStTensor *w = dn_safetensors_find (st, "fc.weight");
    DnShape s22 = dn_shape_2d (2, 2);
    g_assert_true (dn_shape_equal (&w->shape, &s22));
    const float want_w[] = {0.1f, -1e-8f, 3.4e38f, 1.0f};
    g_assert_cmpmem (w->data, sizeof want_w, want_w, sizeof want_w);

    g_assert_null (dn_safetensors_find (st, "missing"));
    g_assert_null (dn_safetensors_metadata (st, "missing"));
}

/* "{entry,entry,...}" from a NULL-terminated list of T() entries. */
static char *join_header (const char *const *entries)
{
    g_autofree char *inner = g_strjoinv (",", (char **) entries);
    return g_strconcat ("{", inner, "}", NULL);
}

static void put (guint8 *dst, guint64 v, int size)
{
    for (int i = 0; i < size; i++)
        dst[i] = (guint8) (v >> (8 * i));
}

static void test_dtypes (void)
{
    const char *entries[] = {
        T ("f64", "\"F64\"", "[2]", "[0,16]"),  T ("i32", "\"I32\"", "[2]", "[16,24]"),
        T ("i16", "\"I16\"", "[2]", "[24,28]"), T ("i8", "\"I8\"", "[2]", "[28,30]"),
        T ("u8", "\"U8\"", "[2]", "[30,32]"),   T ("b", "\"BOOL\"", "[3]", "[32,35]"),
        T ("i64", "\"I64\"", "[1]", "[35,43]"), T ("u16", "\"U16\"", "[1]", "[43,45]"),
        T ("f16", "\"F16\"", "[4]", "[45,53]"), NULL,
    };
    g_autofree char *header = join_header (entries);
    guint8 data[53];
    double d0 = -1.5, d1 = 1e300;
    guint64 bits;
    memcpy (&bits, &d0, 8);
    put (data + 0, bits, 8);
    memcpy (&bits, &d1, 8);
    put (data + 8, bits, 8);
    put (data + 16, (guint32) -7, 4);
    put (data + 20, 2147483647u, 4);
    put (data + 24, (guint16) -300, 2);
    put (data + 26, 32767, 2);
    data[28] = (guint8) -128;
    data[29] = 127;
    data[30] = 0;
    data[31] = 255;
    data[32] = 0;
    data[33] = 1;
    data[34] = 7;
    put (data + 35, (guint64) -42, 8);
    put (data + 43, 65535, 2);
    put (data + 45, 0x7c00, 2); /* +inf */
    put (data + 47, 0xfc00, 2); /* -inf */
    put (data + 49, 0x0001, 2); /* smallest subnormal */
    put (data + 51, 0x83ff, 2); /* largest negative subnormal */

    gsize len;
    g_autofree guint8 *bytes = make_file (header, strlen (header), data, sizeof data, &len);
    g_autoptr (GError) error = NULL;
    g_autoptr (DnSafetensors) st = dn_safetensors_parse (bytes, len, WHAT, &error);
    g_assert_no_error (error);

    const struct {
        const char *name;
        float want[4];
        int n;
    } cases[] = {
        {"f64", {-1.5f, INFINITY}, 2},
        {"i32", {-7.0f, 2147483648.0f}, 2},
        {"i16", {-300.0f, 32767.0f}, 2},
        {"i8", {-128.0f, 127.0f}, 2},
        {"u8", {0.0f, 255.0f}, 2},
        {"b", {0.0f, 1.0f, 1.0f}, 3},
        {"i64", {-42.0f}, 1},
        {"u16", {65535.0f}, 1},
        {"f16", {INFINITY, -INFINITY, 0x1p-24f, -0x3ffp-24f}, 4},
    };
    for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
        DnStTensor *t = dn_safetensors_find (st, cases[i].name);
        g_assert_nonnull (t);
        g_assert_cmpint (dn_shape_numel (&t->shape), ==, cases[i].n);
        for (int j = 0; j < cases[i].n; j++)
            g_assert_cmpfloat (t->data[j], ==, cases[i].want[j]);
    }
    /* F16 NaN stays NaN. */
    put (data + 45, 0x7e00, 2);
    g_autofree guint8 *bytes2 = make_file (header, strlen (header), data, sizeof data, &len);
    g_autoptr (DnSafetensors) st2 = dn_safetensors_parse (bytes2, len, WHAT, &error);
    g_assert_no_error (error);
    g_assert_true (isnan (dn_safetensors_find (st2, "f16")->data[0]));
}

static void test_empty_and_scalar (void)
{
    const char *entries[] = {
        T ("e", "\"F32\"", "[0,5]", "[0,0]"),
        T ("s", "\"F32\"", "[]", "[0,4]"),
        T ("z", "\"I64\"", "[3,0]", "[4,4]"),
        NULL,
    };
    g_autofree char *header = join_header (entries);
    const float one = 2.5f;
    gsize len;
    g_autofree guint8 *bytes = make_file (header, strlen (header), &one, 4, &len);
    g_autoptr (GError) error = NULL;
    g_autoptr (DnSafetensors) st = dn_safetensors_parse (bytes, len, WHAT, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (st->tensors->len, ==, 3);
    DnStTensor *e = dn_safetensors_find (st, "e");
    g_assert_cmpint (e->shape.ndim, ==, 2);
    g_assert_cmpint (dn_shape_numel (&e->shape), ==, 0);
    DnStTensor *s = dn_safetensors_find (st, "s");
    g_assert_cmpint (s->shape.ndim, ==, 0);
    g_assert_cmpfloat (s->data[0], ==, 2.5f);

    /* A header with no tensors at all is a valid, empty file. */
    g_autofree guint8 *none = make_file ("{}", 2, NULL, 0, &len);
    g_autoptr (DnSafetensors) st2 = dn_safetensors_parse (none, len, WHAT, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (st2->tensors->len, ==, 0);
    g_assert_cmpuint (g_hash_table_size (st2->metadata), ==, 0);
}

/* ---- writing ------------------------------------------------------------ */

static void test_roundtrip (void)
{
    g_autofree char *dir = dn_test_tmpdir ();
    g_autofree char *path = g_build_filename (dir, "model.safetensors", NULL);

    float w[3 * 4], b[3], scalar = -0.0f;
    for (int i = 0; i < 12; i++)
        w[i] = (float) (i - 6) / 7.0f;
    b[0] = NAN;
    b[1] = -INFINITY;
    b[2] = 1e-42f; /* subnormal */
    const DnStWrite tensors[] = {
        {"fc.weight", dn_shape_2d (3, 4), w},
        {"fc.bias", dn_shape_1d (3), b},
        {"empty", dn_shape_2d (0, 7), NULL},
        {"step", dn_shape_make (0, NULL), &scalar},
    };
    g_autoptr (GHashTable) meta = g_hash_table_new (g_str_hash, g_str_equal);
    g_hash_table_insert (meta, (char *) "app", (char *) "dendrite-studio");
    g_hash_table_insert (meta, (char *) "dendrites",
                         (char *) "{\"k\": 2, \"name\": \"caf\xc3\xa9\\n\"}");

    g_autoptr (GError) error = NULL;
    g_assert_true (dn_safetensors_write (path, tensors, G_N_ELEMENTS (tensors), meta, &error));
    g_assert_no_error (error);

    g_autoptr (DnSafetensors) st = dn_safetensors_read (path, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (st->tensors->len, ==, G_N_ELEMENTS (tensors));
    for (gsize i = 0; i < G_N_ELEMENTS (tensors); i++) {
        DnStTensor *t = g_ptr_array_index (st->tensors, i);
        g_assert_cmpstr (t->name, ==, tensors[i].name);
        g_assert_cmpstr (t->dtype, ==, "F32");
        g_assert_true (dn_shape_equal (&t->shape, &tensors[i].shape));
        gsize n = (gsize) dn_shape_numel (&t->shape);
        const float *data = dn_safetensors_tensor_data (st, t, &error);
        g_assert_true (data == t->data);
        g_assert_no_error (error);
        if (n > 0)
            g_assert_cmpmem (data, n * 4, tensors[i].data, n * 4);
    }
    g_assert_cmpstr (dn_safetensors_metadata (st, "app"), ==, "dendrite-studio");
    g_assert_cmpstr (dn_safetensors_metadata (st, "dendrites"), ==,
                     "{\"k\": 2, \"name\": \"caf\xc3\xa9\\n\"}");
    g_assert_cmpstr (dn_safetensors_metadata (st, "format"), ==, "pt");
    g_assert_cmpuint (g_hash_table_size (st->metadata), ==, 3);

    /* Overwriting works and leaves no temporary file behind. */
    g_assert_true (dn_safetensors_write (path, tensors, 1, NULL, &error));
    g_assert_no_error (error);
    g_autoptr (DnSafetensors) st2 = dn_safetensors_read (path, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (st2->tensors->len, ==, 1);
    g_assert_cmpstr (dn_safetensors_metadata (st2, "format"), ==, "pt");
    g_autoptr (GDir) d = g_dir_open (dir, 0, &error);
    g_assert_no_error (error);
    int n_files = 0;
    while (g_dir_read_name (d) != NULL)
        n_files++;
    g_assert_cmpint (n_files, ==, 1);
    dn_test_tmpdir_remove (dir);
}

static void test_alignment (void)
{
    g_autofree char *dir = dn_test_tmpdir ();
    g_autofree char *path = g_build_filename (dir, "a.safetensors", NULL);
    const float x[2] = {1.0f, 2.0f};
    /* Name lengths 1..16 move the header end through every residue mod 8. */
    for (int len = 1; len <= 16; len++) {
        g_autofree char *name = g_strnfill (len, 'n');
        const DnStWrite t = {name, dn_shape_1d (2), x};
        g_autoptr (GError) error = NULL;
        g_assert_true (dn_safetensors_write (path, &t, 1, NULL, &error));
        g_autofree char *bytes = NULL;
        gsize size;
        g_assert_true (g_file_get_contents (path, &bytes, &size, &error));
        guint64 n;
        memcpy (&n, bytes, 8);
        n = GUINT64_FROM_LE (n);
        g_assert_cmpuint ((8 + n) % 8, ==, 0);
        g_assert_cmpuint (size, ==, 8 + n + sizeof x);
        g_assert_cmpint (bytes[8], ==, '{');
        /* Padding is spaces only, after the closing brace. */
        gsize end = 8 + n;
        while (end > 8 && bytes[end - 1] == ' ')
            end--;
        g_assert_cmpint (bytes[end - 1], ==, '}');
        g_assert_cmpuint (8 + n - end, <, 8);
        g_assert_cmpmem (bytes + 8 + n, sizeof x, x, sizeof x);
    }
    dn_test_tmpdir_remove (dir);
}

static void test_write_errors (void)
{
    g_autofree char *dir = dn_test_tmpdir ();
    g_autofree char *never = g_build_filename (dir, "never.safetensors", NULL);
    const float x = 1.0f;
    const DnStWrite dup[] = {{"a", dn_shape_1d (1), &x}, {"a", dn_shape_1d (1), &x}};
    g_autoptr (GError) error = NULL;
    g_assert_false (dn_safetensors_write (never, dup, 2, NULL, &error));
    g_assert_error (error, DN_ERROR, DN_ERROR_CONFIG);
    assert_message_has (error, "named \"a\";");
    g_assert_false (g_file_test (never, G_FILE_TEST_EXISTS));
    g_clear_error (&error);

    /* the writer shows names the way the reader does */
    const DnStWrite dup_esc[] = {{"a\x1b[2J", dn_shape_1d (1), &x},
                                 {"a\x1b[2J", dn_shape_1d (1), &x}};
    g_assert_false (dn_safetensors_write (never, dup_esc, 2, NULL, &error));
    g_assert_error (error, DN_ERROR, DN_ERROR_CONFIG);
    assert_message_has (error, "named \"a\\u001b[2J\";");
    assert_message_tame (error);
    g_clear_error (&error);

    const DnStWrite meta_name = {"__metadata__", dn_shape_1d (1), &x};
    g_assert_false (dn_safetensors_write (never, &meta_name, 1, NULL, &error));
    g_assert_error (error, DN_ERROR, DN_ERROR_CONFIG);
    g_clear_error (&error);

    const DnStWrite neg = {"n", dn_shape_1d (-1), &x};
    g_assert_false (dn_safetensors_write (never, &neg, 1, NULL, &error));
    g_assert_error (error, DN_ERROR, DN_ERROR_SHAPE);
    g_clear_error (&error);

    const DnStWrite ok = {"w", dn_shape_1d (1), &x};
    g_assert_false (dn_safetensors_write ("/nonexistent/dir/m.safetensors", &ok, 1, NULL, &error));
    g_assert_error (error, DN_ERROR, DN_ERROR_IO);
    assert_message_has (error, "/nonexistent/dir/m.safetensors");
    dn_test_tmpdir_remove (dir);
}

/* ---- no crash on any truncation or corruption of a good file ----------- */

static void test_truncated_and_corrupted (void)
{
    g_autofree char *path = dn_test_fixture_path ("st-reference.safetensors");
    g_autofree char *good = NULL;
    gsize len;
    g_autoptr (GError) error = NULL;
    g_assert_true (g_file_get_contents (path, &good, &len, &error));

    /* Every strict prefix is missing data the header promises. */
    for (gsize n = 0; n < len; n++) {
        g_autofree guint8 *copy = g_memdup2 (good, n);
        g_autoptr (DnSafetensors) st = dn_safetensors_parse (copy, n, WHAT, &error);
        g_assert_null (st);
        g_assert_error (error, DN_ERROR, DN_ERROR_FORMAT);
        g_clear_error (&error);
    }
    /* Every byte replaced by a few values: a result or an error, never both or neither. */
    const guint8 values[] = {0x00, 0x20, 0x22, 0x2c, 0x39, 0x5b, 0x7b, 0x7d, 0x80, 0xff};
    g_autofree guint8 *copy = g_memdup2 (good, len);
    for (gsize i = 0; i < len; i++) {
        for (gsize v = 0; v < G_N_ELEMENTS (values); v++) {
            copy[i] = values[v];
            g_autoptr (DnSafetensors) st = dn_safetensors_parse (copy, len, WHAT, &error);
            g_assert_true ((st == NULL) != (error == NULL));
            g_clear_error (&error);
        }
        copy[i] = (guint8) good[i];
    }
}

int main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    for (gsize i = 0; i < G_N_ELEMENTS (header_cases); i++)
        g_test_add_data_func (header_cases[i].path, &header_cases[i], test_header_case);
    g_test_add_func ("/engine/safetensors/names-quoted", test_names_quoted);
    g_test_add_func ("/engine/safetensors/too-short", test_too_short);
    g_test_add_func ("/engine/safetensors/header-too-large", test_header_too_large);
    g_test_add_func ("/engine/safetensors/header-beyond-file", test_header_beyond_file);
    g_test_add_func ("/engine/safetensors/header-empty", test_header_empty);
    g_test_add_func ("/engine/safetensors/header-nul", test_header_nul);
    g_test_add_func ("/engine/safetensors/header-deep", test_header_deep);
    g_test_add_func ("/engine/safetensors/pytorch-zip", test_pytorch_zip);
    g_test_add_func ("/engine/safetensors/pytorch-pickle", test_pytorch_pickle);
    g_test_add_func ("/engine/safetensors/sniff-not-fooled", test_sniff_not_fooled);
    g_test_add_func ("/engine/safetensors/missing-file", test_missing_file);
    g_test_add_func ("/engine/safetensors/reference", test_reference);
    g_test_add_func ("/engine/safetensors/dtypes", test_dtypes);
    g_test_add_func ("/engine/safetensors/empty-and-scalar", test_empty_and_scalar);
    g_test_add_func ("/engine/safetensors/roundtrip", test_roundtrip);
    g_test_add_func ("/engine/safetensors/alignment", test_alignment);
    g_test_add_func ("/engine/safetensors/write-errors", test_write_errors);
    g_test_add_func ("/engine/safetensors/truncated-and-corrupted", test_truncated_and_corrupted);
    return g_test_run ();
}
