/* test-idx.c: the IDX reader (raw and gzip, good and hostile files), the
 * MNIST-layout folder loader, and the dataset operations of dn-data.c:
 * subset, split, normalisation statistics and batches. */
#include "dn-data.h"
#include "dn-error.h"
#include "dn-parallel.h"
#include "dn-test-util.h"

#include <math.h>
#include <string.h>
#include <zlib.h>

/* ---- building IDX files ---- */

static void put_be32 (GByteArray *b, uint32_t v)
{
    guint8 x[4] = {(guint8) (v >> 24), (guint8) (v >> 16), (guint8) (v >> 8), (guint8) v};
    g_byte_array_append (b, x, 4);
}

/* count images of rows x cols; pixel (i, j) = (i * 7 + j) & 255; `have` pixels written. */
static GByteArray *make_images_n (uint32_t magic, uint32_t count, uint32_t rows, uint32_t cols,
                                  gsize have)
{
    GByteArray *b = g_byte_array_new ();
    put_be32 (b, magic);
    put_be32 (b, count);
    put_be32 (b, rows);
    put_be32 (b, cols);
    gsize per = (gsize) rows * cols;
    for (gsize k = 0; k < have; k++) {
        guint8 v = (guint8) (((k / per) * 7 + k % per) & 255);
        g_byte_array_append (b, &v, 1);
    }
    return b;
}

static GByteArray *make_images (uint32_t count, uint32_t rows, uint32_t cols)
{
    return make_images_n (0x803, count, rows, cols, (gsize) count * rows * cols);
}

/* label i = i % modulo */
static GByteArray *make_labels_n (uint32_t magic, uint32_t count, int modulo, gsize have)
{
    GByteArray *b = g_byte_array_new ();
    put_be32 (b, magic);
    put_be32 (b, count);
    for (gsize i = 0; i < have; i++) {
        guint8 v = (guint8) (i % modulo);
        g_byte_array_append (b, &v, 1);
    }
    return b;
}

static GByteArray *make_labels (uint32_t count, int modulo)
{
    return make_labels_n (0x801, count, modulo, count);
}

static GByteArray *gzip_bytes (const guint8 *data, gsize len)
{
    z_stream zs = {0};
    g_assert_cmpint (deflateInit2 (&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), ==, Z_OK);
    gsize cap = deflateBound (&zs, (uLong) len) + 64;
    GByteArray *out = g_byte_array_sized_new ((guint) cap);
    g_byte_array_set_size (out, (guint) cap);
    zs.next_in = (Bytef *) data;
    zs.avail_in = (uInt) len;
    zs.next_out = out->data;
    zs.avail_out = (uInt) cap;
    g_assert_cmpint (deflate (&zs, Z_FINISH), ==, Z_STREAM_END);
    g_byte_array_set_size (out, (guint) zs.total_out);
    deflateEnd (&zs);
    return out;
}

static char *write_bytes (const char *dir, const char *name, GByteArray *b)
{
    char *path = dn_test_write_file (dir, name, b->data, b->len);
    g_byte_array_unref (b);
    return path;
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

/* Loads an image and a label file written into a fresh folder. */
static DnDataset *load_pair (GByteArray *images, GByteArray *labels, GError **error)
{
    g_autofree char *dir = dn_test_tmpdir ();
    g_autofree char *ip = write_bytes (dir, "images", images);
    g_autofree char *lp = write_bytes (dir, "labels", labels);
    DnDataset *d = dn_dataset_load_idx (ip, lp, error);
    dn_test_tmpdir_remove (dir);
    return d;
}

static void check_synthetic (const DnDataset *d, int count, int rows, int cols, int modulo)
{
    g_assert_nonnull (d);
    g_assert_cmpint (d->n, ==, count);
    g_assert_cmpint (d->shape.ndim, ==, 3);
    g_assert_cmpint (d->shape.d[0], ==, 1);
    g_assert_cmpint (d->shape.d[1], ==, rows);
    g_assert_cmpint (d->shape.d[2], ==, cols);
    g_assert_nonnull (d->u8);
    g_assert_null (d->f32);
    g_assert_null (d->class_names);
    g_assert_cmpint (d->n_classes, ==, MIN (count, modulo));
    int per = rows * cols;
    for (int i = 0; i < count; i++) {
        g_assert_cmpint (d->labels[i], ==, i % modulo);
        for (int k = 0; k < per; k++)
            g_assert_cmpint (d->u8[i * per + k], ==, (i * 7 + k) & 255);
    }
}

/* ---- good files ---- */

static void test_raw (void)
{
    g_autoptr (GError) error = NULL;
    g_autoptr (DnDataset) d = load_pair (make_images (12, 5, 3), make_labels (12, 4), &error);
    g_assert_no_error (error);
    check_synthetic (d, 12, 5, 3, 4);
    g_assert_true (g_str_has_suffix (d->source, "images"));
}

static void test_gzip (void)
{
    g_autoptr (GError) error = NULL;
    GByteArray *im = make_images (9, 28, 28), *lb = make_labels (9, 10);
    GByteArray *gim = gzip_bytes (im->data, im->len), *glb = gzip_bytes (lb->data, lb->len);
    g_byte_array_unref (im);
    g_byte_array_unref (lb);
    /* Named without .gz: compression is found by content. */
    g_autoptr (DnDataset) d = load_pair (gim, glb, &error);
    g_assert_no_error (error);
    check_synthetic (d, 9, 28, 28, 10);
}

static void test_gzip_members (void)
{
    /* `cat a.gz b.gz` is one valid gzip file holding a then b. */
    g_autoptr (GError) error = NULL;
    GByteArray *im = make_images (6, 4, 4);
    GByteArray *a = gzip_bytes (im->data, 40), *b = gzip_bytes (im->data + 40, im->len - 40);
    g_byte_array_append (a, b->data, b->len);
    g_byte_array_unref (b);
    g_byte_array_unref (im);
    g_autoptr (DnDataset) d = load_pair (a, make_labels (6, 3), &error);
    g_assert_no_error (error);
    check_synthetic (d, 6, 4, 4, 3);
}

static void test_zero_count (void)
{
    g_autoptr (GError) error = NULL;
    g_autoptr (DnDataset) d = load_pair (make_images (0, 28, 28), make_labels (0, 10), &error);
    g_assert_no_error (error);
    g_assert_cmpint (d->n, ==, 0);
    g_assert_cmpint (d->n_classes, ==, 0);
    g_assert_nonnull (d->u8);
}

static void test_parse_memory (void)
{
    g_autoptr (GError) error = NULL;
    GByteArray *im = make_images (3, 2, 2), *lb = make_labels (3, 3);
    g_autoptr (DnDataset) d = dn_dataset_parse_idx (im->data, im->len, "mem-images", lb->data,
                                                    lb->len, "mem-labels", &error);
    g_assert_no_error (error);
    check_synthetic (d, 3, 2, 2, 3);
    g_assert_cmpstr (d->source, ==, "mem-images");
    g_byte_array_unref (im);
    g_byte_array_unref (lb);
}

/* ---- hostile files ---- */

static void test_missing_file (void)
{
    g_autoptr (GError) error = NULL;
    g_autofree char *dir = dn_test_tmpdir ();
    g_autofree char *lp = write_bytes (dir, "labels", make_labels (2, 2));
    g_autofree char *ip = g_build_filename (dir, "no-such-images", NULL);
    DnDataset *d = dn_dataset_load_idx (ip, lp, &error);
    g_assert_null (d);
    ASSERT_ERROR_SAYS (error, DN_ERROR_IO, ip, "does not exist");
    dn_test_tmpdir_remove (dir);
}

static void test_wrong_magic (void)
{
    g_autoptr (GError) error = NULL;
    DnDataset *d = load_pair (make_images_n (0x61626364, 2, 2, 2, 8), make_labels (2, 2), &error);
    g_assert_null (d);
    ASSERT_ERROR_SAYS (error, DN_ERROR_FORMAT, "0x61626364", "0x00000803", "images");
    g_clear_error (&error);

    /* Written little-endian. */
    d = load_pair (make_images_n (0x03080000, 2, 2, 2, 8), make_labels (2, 2), &error);
    g_assert_null (d);
    ASSERT_ERROR_SAYS (error, DN_ERROR_FORMAT, "0x03080000", "big-endian");
    g_clear_error (&error);

    /* int32 labels are a different IDX type. */
    d = load_pair (make_images (2, 2, 2), make_labels_n (0x0C01, 2, 2, 8), &error);
    g_assert_null (d);
    ASSERT_ERROR_SAYS (error, DN_ERROR_FORMAT, "0x00000C01", "0x00000801", "0x0C");
}

static void test_swapped (void)
{
    g_autoptr (GError) error = NULL;
    DnDataset *d = load_pair (make_labels (4, 2), make_images (4, 2, 2), &error);
    g_assert_null (d);
    ASSERT_ERROR_SAYS (error, DN_ERROR_FORMAT, "0x00000801", "0x00000803", "swapped");
}

static void test_empty_file (void)
{
    g_autoptr (GError) error = NULL;
    DnDataset *d = load_pair (g_byte_array_new (), make_labels (2, 2), &error);
    g_assert_null (d);
    ASSERT_ERROR_SAYS (error, DN_ERROR_FORMAT, "truncated", "0 bytes");
}

static void test_truncated_header (void)
{
    g_autoptr (GError) error = NULL;
    GByteArray *im = make_images (2, 2, 2);
    g_byte_array_set_size (im, 10);
    DnDataset *d = load_pair (im, make_labels (2, 2), &error);
    g_assert_null (d);
    ASSERT_ERROR_SAYS (error, DN_ERROR_FORMAT, "truncated", "16 bytes", "after 10");
}

static void test_truncated_data (void)
{
    g_autoptr (GError) error = NULL;
    /* The header says 10 images of 28x28 (7840 bytes); 5 are there (3920). */
    DnDataset *d =
        load_pair (make_images_n (0x803, 10, 28, 28, 3920), make_labels (10, 10), &error);
    g_assert_null (d);
    ASSERT_ERROR_SAYS (error, DN_ERROR_FORMAT, "truncated", "7840", "3920");
    g_clear_error (&error);

    /* Labels cut off. */
    d = load_pair (make_images (10, 2, 2), make_labels_n (0x801, 10, 3, 4), &error);
    g_assert_null (d);
    ASSERT_ERROR_SAYS (error, DN_ERROR_FORMAT, "labels", "truncated", "10 labels");
}

static void test_lying_header_gzip (void)
{
    /* Inside gzip the length is unknown until inflated: same error, after decompression. */
    g_autoptr (GError) error = NULL;
    GByteArray *im = make_images_n (0x803, 1000, 28, 28, 784 * 3);
    GByteArray *gim = gzip_bytes (im->data, im->len);
    g_byte_array_unref (im);
    DnDataset *d = load_pair (gim, make_labels (1000, 10), &error);
    g_assert_null (d);
    ASSERT_ERROR_SAYS (error, DN_ERROR_FORMAT, "truncated", "784000", "2352",
                       "after decompression");
    g_clear_error (&error);

    /* A gzip file cut in the middle of its stream. */
    im = make_images (50, 28, 28);
    gim = gzip_bytes (im->data, im->len);
    g_byte_array_unref (im);
    g_byte_array_set_size (gim, gim->len / 2);
    d = load_pair (gim, make_labels (50, 10), &error);
    g_assert_null (d);
    ASSERT_ERROR_SAYS (error, DN_ERROR_FORMAT, "truncated", "cut off");
}

static void test_extra_data (void)
{
    g_autoptr (GError) error = NULL;
    DnDataset *d = load_pair (make_images_n (0x803, 2, 3, 3, 30), make_labels (2, 2), &error);
    g_assert_null (d);
    ASSERT_ERROR_SAYS (error, DN_ERROR_FORMAT, "longer than its header says", "18 bytes",
                       "30 bytes");
    g_clear_error (&error);

    GByteArray *im = make_images_n (0x803, 2, 3, 3, 30);
    d = load_pair (gzip_bytes (im->data, im->len), make_labels (2, 2), &error);
    g_byte_array_unref (im);
    g_assert_null (d);
    ASSERT_ERROR_SAYS (error, DN_ERROR_FORMAT, "more data than its header announces");
}

static void test_huge_dims (void)
{
    g_autoptr (GError) error = NULL;
    /* Sides beyond 65536: refused from the header alone. */
    DnDataset *d = load_pair (make_images_n (0x803, 1, 100000, 2, 16), make_labels (1, 2), &error);
    g_assert_null (d);
    ASSERT_ERROR_SAYS (error, DN_ERROR_FORMAT, "100000 x 2", "65536");
    g_clear_error (&error);

    d = load_pair (make_images_n (0x803, 1, 0, 28, 0), make_labels (1, 2), &error);
    g_assert_null (d);
    ASSERT_ERROR_SAYS (error, DN_ERROR_FORMAT, "0 x 28");
    g_clear_error (&error);

    /* 2^30 images of 28x28 would be 842 GB: refused before any allocation. */
    d = load_pair (make_images_n (0x803, 1u << 30, 28, 28, 64), make_labels (1, 2), &error);
    g_assert_null (d);
    ASSERT_ERROR_SAYS (error, DN_ERROR_FORMAT, "1073741824 images", "2^31");
    g_clear_error (&error);

    /* A count beyond INT_MAX, and all-ones dimensions, also inside gzip. */
    GByteArray *im = make_images_n (0x803, 0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu, 16);
    d = load_pair (gzip_bytes (im->data, im->len), make_labels (1, 2), &error);
    g_byte_array_unref (im);
    g_assert_null (d);
    ASSERT_ERROR_SAYS (error, DN_ERROR_FORMAT, "4294967295");
    g_clear_error (&error);

    /* A gzip header that claims 2^31 pixels but holds a few: no 2 GB allocation up front. */
    im = make_images_n (0x803, 1u << 21, 32, 32, 1000);
    d = load_pair (gzip_bytes (im->data, im->len), make_labels (1u << 21, 2), &error);
    g_byte_array_unref (im);
    g_assert_null (d);
    ASSERT_ERROR_SAYS (error, DN_ERROR_FORMAT, "truncated", "2147483648", "1000");
}

static void test_count_mismatch (void)
{
    g_autoptr (GError) error = NULL;
    DnDataset *d = load_pair (make_images (5, 2, 2), make_labels (6, 2), &error);
    g_assert_null (d);
    ASSERT_ERROR_SAYS (error, DN_ERROR_FORMAT, "5 images", "6 labels");
}

static void test_gzip_garbage (void)
{
    g_autoptr (GError) error = NULL;
    GByteArray *b = g_byte_array_new ();
    const guint8 junk[] = {0x1f, 0x8b, 0x08, 0x00, 0xde, 0xad, 0xbe, 0xef, 0x00,
                           0x03, 0xff, 0xff, 0xff, 0xff, 0x12, 0x34, 0x56, 0x78};
    g_byte_array_append (b, junk, sizeof junk);
    DnDataset *d = load_pair (b, make_labels (2, 2), &error);
    g_assert_null (d);
    ASSERT_ERROR_SAYS (error, DN_ERROR_FORMAT, "gzip");
    g_clear_error (&error);

    /* Only the two magic bytes. */
    b = g_byte_array_new ();
    g_byte_array_append (b, junk, 2);
    d = load_pair (b, make_labels (2, 2), &error);
    g_assert_null (d);
    ASSERT_ERROR_SAYS (error, DN_ERROR_FORMAT, "truncated");
}

/* ---- the folder loader ---- */

static void test_dir (void)
{
    g_autoptr (GError) error = NULL;
    g_autofree char *dir = dn_test_tmpdir ();
    GByteArray *im = make_images (7, 3, 3);
    g_free (write_bytes (dir, "train-images-idx3-ubyte.gz", gzip_bytes (im->data, im->len)));
    g_byte_array_unref (im);
    g_free (write_bytes (dir, "train-labels-idx1-ubyte", make_labels (7, 5)));
    g_free (write_bytes (dir, "t10k-images-idx3-ubyte", make_images (3, 3, 3)));

    g_autoptr (DnDataset) train = dn_dataset_load_idx_dir (dir, "train", &error);
    g_assert_no_error (error);
    check_synthetic (train, 7, 3, 3, 5);

    DnDataset *test = dn_dataset_load_idx_dir (dir, "test", &error);
    g_assert_null (test);
    ASSERT_ERROR_SAYS (error, DN_ERROR_IO, dir, "t10k-labels-idx1-ubyte",
                       "t10k-labels-idx1-ubyte.gz");
    g_clear_error (&error);

    g_free (write_bytes (dir, "t10k-labels-idx1-ubyte.gz", make_labels (3, 5)));
    test = dn_dataset_load_idx_dir (dir, "test", &error);
    g_assert_no_error (error);
    check_synthetic (test, 3, 3, 3, 5);
    dn_dataset_free (test);

    test = dn_dataset_load_idx_dir (dir, "validation", &error);
    g_assert_null (test);
    ASSERT_ERROR_SAYS (error, DN_ERROR_CONFIG, "validation", "\"train\" or \"test\"");
    g_clear_error (&error);
    dn_test_tmpdir_remove (dir);

    test = dn_dataset_load_idx_dir (dir, "train", &error);
    g_assert_null (test);
    ASSERT_ERROR_SAYS (error, DN_ERROR_IO, dir, "does not exist");
}

static void assert_all_classes (const DnDataset *d, int n_classes)
{
    int hist[256] = {0};
    for (int i = 0; i < d->n; i++) {
        g_assert_cmpint (d->labels[i], >=, 0);
        g_assert_cmpint (d->labels[i], <, n_classes);
        hist[d->labels[i]]++;
    }
    for (int c = 0; c < n_classes; c++)
        g_assert_cmpint (hist[c], >, 0);
}

static void test_mnist_10k (void)
{
    g_autoptr (GError) error = NULL;
    g_autofree char *dir = dn_test_data_path ("datasets/mnist-10k");
    g_autoptr (DnDataset) train = dn_dataset_load_idx_dir (dir, "train", &error);
    g_assert_no_error (error);
    g_autoptr (DnDataset) test = dn_dataset_load_idx_dir (dir, "test", &error);
    g_assert_no_error (error);
    g_assert_cmpint (train->n, ==, 8004);
    g_assert_cmpint (test->n, ==, 1996);
    for (int k = 0; k < 2; k++) {
        const DnDataset *d = k == 0 ? train : test;
        g_assert_cmpint (d->shape.ndim, ==, 3);
        g_assert_cmpint (d->shape.d[0], ==, 1);
        g_assert_cmpint (d->shape.d[1], ==, 28);
        g_assert_cmpint (d->shape.d[2], ==, 28);
        g_assert_cmpint (d->n_classes, ==, 10);
        assert_all_classes (d, 10);
    }
    /* Real digits: dark background, some bright strokes; MNIST's mean is about 0.13. */
    DnNormalize norm;
    dn_dataset_compute_normalize (train, &norm);
    g_assert_cmpint (norm.n_channels, ==, 1);
    g_assert_cmpfloat (norm.mean[0], >, 0.10);
    g_assert_cmpfloat (norm.mean[0], <, 0.16);
    g_assert_cmpfloat (norm.std[0], >, 0.25);
    g_assert_cmpfloat (norm.std[0], <, 0.35);
}

static void test_fashion_mnist (void)
{
    const char *dir = "/usr/share/datasets/fashion-mnist";
    if (!g_file_test (dir, G_FILE_TEST_IS_DIR)) {
        g_test_skip ("Fashion-MNIST is not installed (Debian package dataset-fashion-mnist)");
        return;
    }
    g_autoptr (GError) error = NULL;
    g_autoptr (DnDataset) train = dn_dataset_load_idx_dir (dir, "train", &error);
    g_assert_no_error (error);
    g_autoptr (DnDataset) test = dn_dataset_load_idx_dir (dir, "test", &error);
    g_assert_no_error (error);
    g_assert_cmpint (train->n, ==, 60000);
    g_assert_cmpint (test->n, ==, 10000);
    g_assert_cmpint (train->n_classes, ==, 10);
    g_assert_cmpint (test->n_classes, ==, 10);
    for (int i = 0; i < 100; i++) {
        g_assert_cmpint (train->labels[i], >=, 0);
        g_assert_cmpint (train->labels[i], <, 10);
        g_assert_cmpint (test->labels[i], >=, 0);
        g_assert_cmpint (test->labels[i], <, 10);
    }
    assert_all_classes (train, 10);
}

/* ---- dataset operations ---- */

/* n samples of `shape`; sample i holds value (i * 31 + k) & 255 at k; label i. */
static DnDataset *make_u8_dataset (int n, DnShape shape)
{
    DnDataset *d = g_new0 (DnDataset, 1);
    gsize numel = (gsize) dn_shape_numel (&shape);
    d->n = n;
    d->shape = shape;
    d->u8 = g_malloc (MAX (n * numel, 1));
    d->labels = g_new (int32_t, MAX (n, 1));
    for (int i = 0; i < n; i++) {
        d->labels[i] = i;
        for (gsize k = 0; k < numel; k++)
            d->u8[i * numel + k] = (guint8) ((i * 31 + k) & 255);
    }
    d->n_classes = n;
    d->source = g_strdup ("synthetic");
    return d;
}

static void test_subset (void)
{
    g_autoptr (DnDataset) d = make_u8_dataset (10, dn_shape_3d (1, 2, 3));
    const int idx[] = {7, 2, 2, 9};
    g_autoptr (DnDataset) s = dn_dataset_subset (d, idx, 4, NULL);
    g_assert_cmpint (s->n, ==, 4);
    g_assert_true (dn_shape_equal (&s->shape, &d->shape));
    g_assert_cmpint (s->n_classes, ==, 10);
    g_assert_cmpstr (s->source, ==, "synthetic");
    for (int i = 0; i < 4; i++) {
        g_assert_cmpint (s->labels[i], ==, idx[i]);
        g_assert_cmpmem (s->u8 + dn_dataset_row (s, i) * 6, 6, d->u8 + idx[i] * 6, 6);
    }
    g_autoptr (DnDataset) empty = dn_dataset_subset (d, NULL, 0, NULL);
    g_assert_cmpint (empty->n, ==, 0);
    g_assert_nonnull (empty->u8);
}

/* A subset is a view: it shares the parent's pixels (a split costs four bytes a
 * sample, not a copy of the images), a view of a view points at the first
 * parent's rows, and views outlive the dataset they came from. */
static void test_subset_view (void)
{
    DnDataset *d = make_u8_dataset (10, dn_shape_3d (1, 2, 3));
    const int idx[] = {7, 2, 9, 4};
    DnDataset *s = dn_dataset_subset (d, idx, 4, NULL);
    g_assert_true (s->u8 == d->u8);
    const int idx2[] = {3, 0};
    DnDataset *ss = dn_dataset_subset (s, idx2, 2, NULL);
    g_assert_true (ss->u8 == d->u8);
    g_assert_cmpint (dn_dataset_row (ss, 0), ==, 4);
    g_assert_cmpint (dn_dataset_row (ss, 1), ==, 7);
    g_autofree guint8 *want = g_memdup2 (d->u8 + 4 * 6, 6);
    dn_dataset_free (d);
    dn_dataset_free (s);
    /* the storage is still there: read it through a batch */
    float x[12];
    int32_t y[2];
    const int both[] = {0, 1};
    dn_dataset_get_batch (ss, both, 2, NULL, x, y);
    g_assert_cmpint (y[0], ==, 4);
    g_assert_cmpint (y[1], ==, 7);
    for (int k = 0; k < 6; k++)
        g_assert_cmpfloat_with_epsilon (x[k], want[k] / 255.0f, 1e-6);
    DnNormalize norm;
    dn_dataset_compute_normalize (ss, &norm);
    double mean = 0.0;
    for (int k = 0; k < 12; k++)
        mean += x[k];
    g_assert_cmpfloat_with_epsilon (norm.mean[0], mean / 12, 1e-6);
    dn_dataset_free (ss);
}

/* Every allocation the input sizes fails with a message, never an abort. */
static void test_alloc_fails_cleanly (void)
{
    g_autoptr (GError) error = NULL;
    /* more than the address space: refused before asking malloc */
    gpointer p = dn_data_try_alloc (G_MAXSIZE / 2, 4, "the labels", "huge.idx", &error);
    g_assert_null (p);
    g_assert_error (error, DN_ERROR, DN_ERROR_NOMEM);
    g_assert_nonnull (strstr (error->message, "out of memory: the labels of 'huge.idx' needs"));
    g_assert_nonnull (strstr (error->message, " MB"));
}

static void check_split (const DnDataset *d, const DnDataset *train, const DnDataset *val,
                         int n_val)
{
    g_assert_cmpint (val->n, ==, n_val);
    g_assert_cmpint (train->n + val->n, ==, d->n);
    /* Labels are the original indices: each must appear exactly once. */
    g_autofree int *seen = g_new0 (int, MAX (d->n, 1));
    for (int i = 0; i < train->n; i++)
        seen[train->labels[i]]++;
    for (int i = 0; i < val->n; i++)
        seen[val->labels[i]]++;
    for (int i = 0; i < d->n; i++)
        g_assert_cmpint (seen[i], ==, 1);
}

static void test_split (void)
{
    g_autoptr (DnDataset) d = make_u8_dataset (100, dn_shape_3d (1, 2, 2));
    DnRng rng1, rng2;
    dn_rng_seed (&rng1, 42);
    dn_rng_seed (&rng2, 42);
    DnDataset *t1, *v1, *t2, *v2;
    g_assert_true (dn_dataset_split (d, 0.2, &rng1, &t1, &v1, NULL));
    g_assert_true (dn_dataset_split (d, 0.2, &rng2, &t2, &v2, NULL));
    check_split (d, t1, v1, 20);
    /* Same seed, same split. */
    g_assert_cmpint (v2->n, ==, 20);
    g_assert_cmpmem (v1->labels, 20 * sizeof (int32_t), v2->labels, 20 * sizeof (int32_t));
    g_assert_cmpmem (t1->labels, 80 * sizeof (int32_t), t2->labels, 80 * sizeof (int32_t));
    /* Not simply the first or last fifth. */
    gboolean first = TRUE, last = TRUE;
    for (int i = 0; i < 20; i++) {
        first = first && v1->labels[i] == i;
        last = last && v1->labels[i] == 80 + i;
    }
    g_assert_false (first);
    g_assert_false (last);
    /* Another seed, another split. */
    DnDataset *t3, *v3;
    dn_rng_seed (&rng1, 43);
    g_assert_true (dn_dataset_split (d, 0.2, &rng1, &t3, &v3, NULL));
    g_assert_true (memcmp (v1->labels, v3->labels, 20 * sizeof (int32_t)) != 0);
    dn_dataset_free (t1);
    dn_dataset_free (v1);
    dn_dataset_free (t2);
    dn_dataset_free (v2);
    dn_dataset_free (t3);
    dn_dataset_free (v3);
}

static void test_split_edges (void)
{
    g_autoptr (DnDataset) d = make_u8_dataset (10, dn_shape_3d (1, 1, 3));
    DnRng rng;
    dn_rng_seed (&rng, 1);
    DnDataset *t, *v;

    g_assert_true (dn_dataset_split (d, 0.0, &rng, &t, &v, NULL));
    check_split (d, t, v, 0);
    DnNormalize norm;
    dn_dataset_compute_normalize (v, &norm);
    g_assert_cmpfloat (norm.mean[0], ==, 0.0f);
    g_assert_cmpfloat (norm.std[0], ==, 1.0f);
    dn_dataset_get_batch (v, NULL, 0, &norm, NULL, NULL);
    g_autoptr (DnDataset) vv = dn_dataset_subset (v, NULL, 0, NULL);
    g_assert_cmpint (vv->n, ==, 0);
    DnDataset *t0, *v0;
    g_assert_true (dn_dataset_split (v, 0.5, &rng, &t0, &v0, NULL));
    g_assert_cmpint (t0->n, ==, 0);
    g_assert_cmpint (v0->n, ==, 0);
    dn_dataset_free (t0);
    dn_dataset_free (v0);
    dn_dataset_free (t);
    dn_dataset_free (v);

    g_assert_true (dn_dataset_split (d, 1.0, &rng, &t, &v, NULL));
    check_split (d, t, v, 10);
    dn_dataset_free (t);
    dn_dataset_free (v);

    g_assert_true (dn_dataset_split (d, 0.25, &rng, &t, &v, NULL));
    check_split (d, t, v, 3);
    dn_dataset_free (t);
    dn_dataset_free (v);
}

static void test_normalize_u8 (void)
{
    /* Three channels of 2x2: statistics per channel, in [0, 1] units. */
    g_autoptr (DnDataset) d = make_u8_dataset (13, dn_shape_3d (3, 2, 2));
    DnNormalize norm;
    dn_dataset_compute_normalize (d, &norm);
    g_assert_cmpint (norm.n_channels, ==, 3);
    for (int c = 0; c < 3; c++) {
        double s1 = 0, s2 = 0;
        int cnt = 0;
        for (int i = 0; i < d->n; i++)
            for (int k = 0; k < 4; k++) {
                double v = d->u8[i * 12 + c * 4 + k] / 255.0;
                s1 += v;
                s2 += v * v;
                cnt++;
            }
        double mean = s1 / cnt, std = sqrt (s2 / cnt - mean * mean);
        g_assert_cmpfloat_with_epsilon (norm.mean[c], mean, 1e-6);
        g_assert_cmpfloat_with_epsilon (norm.std[c], std, 1e-6);
    }
    g_assert_cmpfloat (norm.mean[0], !=, norm.mean[2]);

    /* A constant set: std 1, not a division by zero. */
    memset (d->u8, 9, 13 * 12);
    dn_dataset_compute_normalize (d, &norm);
    g_assert_cmpfloat_with_epsilon (norm.mean[1], 9 / 255.0, 1e-7);
    g_assert_cmpfloat (norm.std[1], ==, 1.0f);
}

static void test_normalize_f32 (void)
{
    DnDataset *d = g_new0 (DnDataset, 1);
    d->n = 4;
    d->shape = dn_shape_1d (2);
    d->f32 = g_new (float, 8);
    d->labels = g_new0 (int32_t, 4);
    const float v[] = {1, 2, 3, 4, 5, 6, 7, 8};
    memcpy (d->f32, v, sizeof v);
    DnNormalize norm;
    dn_dataset_compute_normalize (d, &norm);
    g_assert_cmpint (norm.n_channels, ==, 1);
    g_assert_cmpfloat_with_epsilon (norm.mean[0], 4.5, 1e-6);
    g_assert_cmpfloat_with_epsilon (norm.std[0], sqrt (5.25), 1e-6);

    const int idx[] = {3, 0};
    float x[4];
    int32_t y[2] = {-1, -1};
    dn_dataset_get_batch (d, idx, 2, &norm, x, y);
    float want[4];
    for (int k = 0; k < 2; k++) {
        want[k] = (v[6 + k] - norm.mean[0]) / norm.std[0];
        want[2 + k] = (v[k] - norm.mean[0]) / norm.std[0];
    }
    dn_assert_floats_close (x, want, 4, 1e-6, 1e-6);
    g_assert_cmpint (y[0], ==, 0);

    /* Per-feature statistics (n_channels = features) and no normalisation at all. */
    DnNormalize per = {.n_channels = 2, .mean = {1, 2}, .std = {2, 4}};
    dn_dataset_get_batch (d, idx, 2, &per, x, NULL);
    const float want_per[] = {3, 1.5f, 0, 0};
    dn_assert_floats_close (x, want_per, 4, 1e-6, 1e-6);
    dn_dataset_get_batch (d, idx, 2, NULL, x, NULL);
    const float want_raw[] = {7, 8, 1, 2};
    dn_assert_floats_close (x, want_raw, 4, 0, 0);
    dn_dataset_free (d);
}

static void test_batch_u8 (void)
{
    g_autoptr (DnDataset) d = make_u8_dataset (5, dn_shape_3d (2, 3, 2));
    DnNormalize norm = {.n_channels = 2, .mean = {0.5f, 0.25f}, .std = {0.5f, 2.0f}};
    const int idx[] = {4, 1, 4};
    float x[3 * 12];
    int32_t y[3];
    dn_dataset_get_batch (d, idx, 3, &norm, x, y);
    float want[3 * 12];
    for (int i = 0; i < 3; i++) {
        g_assert_cmpint (y[i], ==, idx[i]);
        for (int k = 0; k < 12; k++) {
            int c = k / 6;
            want[i * 12 + k] = (d->u8[idx[i] * 12 + k] / 255.0f - norm.mean[c]) / norm.std[c];
        }
    }
    dn_assert_floats_close (x, want, 36, 1e-5, 1e-6);

    /* One channel statistic applies to every channel. */
    DnNormalize one = {.n_channels = 1, .mean = {0.1f}, .std = {0.3f}};
    dn_dataset_get_batch (d, idx, 3, &one, x, NULL);
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 12; k++)
            want[i * 12 + k] = (d->u8[idx[i] * 12 + k] / 255.0f - 0.1f) / 0.3f;
    dn_assert_floats_close (x, want, 36, 1e-5, 1e-6);
}

/* A batch large enough to be split across threads gives the same bytes on any
 * thread count, from a view of u8 images (several channels) and of float rows. */
static void test_batch_threads (void)
{
    g_autoptr (DnDataset) full = make_u8_dataset (300, dn_shape_3d (3, 16, 16));
    int keep[250];
    for (int i = 0; i < 250; i++)
        keep[i] = (i * 7) % 300;
    g_autoptr (DnDataset) d = dn_dataset_subset (full, keep, 250, NULL);
    DnNormalize norm = {.n_channels = 3, .mean = {0.1f, 0.5f, 0.9f}, .std = {0.3f, 2.0f, 0.7f}};
    enum { B = 130, NUMEL = 3 * 16 * 16 };
    int idx[B];
    for (int i = 0; i < B; i++)
        idx[i] = (i * 97 + 13) % 250; /* scattered, with repeats */
    g_autofree float *one = g_new (float, B * NUMEL);
    g_autofree float *many = g_new (float, B * NUMEL);
    int32_t y1[B], yn[B];
    int saved = dn_parallel_get_threads ();
    dn_parallel_set_threads (1);
    dn_dataset_get_batch (d, idx, B, &norm, one, y1);
    for (int i = 0; i < B; i++) {
        int k = keep[idx[i]];
        g_assert_cmpint (y1[i], ==, k);
        for (int e = 0; e < NUMEL; e += 37) {
            int c = e / 256;
            float want = (full->u8[(gsize) k * NUMEL + e] / 255.0f - norm.mean[c]) / norm.std[c];
            dn_assert_floats_close (&one[(gsize) i * NUMEL + e], &want, 1, 1e-5, 1e-6);
        }
    }
    for (int threads = 2; threads <= 4; threads++) {
        dn_parallel_set_threads (threads);
        memset (many, 0, sizeof (float) * B * NUMEL);
        dn_dataset_get_batch (d, idx, B, &norm, many, yn);
        g_assert_cmpmem (many, sizeof (float) * B * NUMEL, one, sizeof (float) * B * NUMEL);
        g_assert_cmpmem (yn, sizeof yn, y1, sizeof y1);
    }

    /* float rows: the batch of the images above, read back as a float dataset */
    DnDataset *f = g_new0 (DnDataset, 1);
    f->n = B;
    f->shape = dn_shape_1d (NUMEL);
    f->f32 = g_memdup2 (one, sizeof (float) * B * NUMEL);
    f->labels = g_new0 (int32_t, B);
    DnNormalize shift = {.n_channels = 1, .mean = {0.25f}, .std = {1.5f}};
    int rev[B];
    for (int i = 0; i < B; i++)
        rev[i] = B - 1 - i;
    dn_parallel_set_threads (1);
    dn_dataset_get_batch (f, rev, B, &shift, one, NULL);
    dn_parallel_set_threads (3);
    dn_dataset_get_batch (f, rev, B, &shift, many, NULL);
    g_assert_cmpmem (many, sizeof (float) * B * NUMEL, one, sizeof (float) * B * NUMEL);
    dn_parallel_set_threads (saved);
    dn_dataset_free (f);
}

int main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    g_test_add_func ("/engine/idx/raw", test_raw);
    g_test_add_func ("/engine/idx/gzip", test_gzip);
    g_test_add_func ("/engine/idx/gzip-members", test_gzip_members);
    g_test_add_func ("/engine/idx/zero-count", test_zero_count);
    g_test_add_func ("/engine/idx/parse-memory", test_parse_memory);
    g_test_add_func ("/engine/idx/missing-file", test_missing_file);
    g_test_add_func ("/engine/idx/wrong-magic", test_wrong_magic);
    g_test_add_func ("/engine/idx/swapped", test_swapped);
    g_test_add_func ("/engine/idx/empty-file", test_empty_file);
    g_test_add_func ("/engine/idx/truncated-header", test_truncated_header);
    g_test_add_func ("/engine/idx/truncated-data", test_truncated_data);
    g_test_add_func ("/engine/idx/lying-header-gzip", test_lying_header_gzip);
    g_test_add_func ("/engine/idx/extra-data", test_extra_data);
    g_test_add_func ("/engine/idx/huge-dims", test_huge_dims);
    g_test_add_func ("/engine/idx/count-mismatch", test_count_mismatch);
    g_test_add_func ("/engine/idx/gzip-garbage", test_gzip_garbage);
    g_test_add_func ("/engine/idx/dir", test_dir);
    g_test_add_func ("/engine/idx/mnist-10k", test_mnist_10k);
    g_test_add_func ("/engine/idx/fashion-mnist", test_fashion_mnist);
    g_test_add_func ("/engine/data/subset", test_subset);
    g_test_add_func ("/engine/data/subset-view", test_subset_view);
    g_test_add_func ("/engine/data/alloc-fails-cleanly", test_alloc_fails_cleanly);
    g_test_add_func ("/engine/data/split", test_split);
    g_test_add_func ("/engine/data/split-edges", test_split_edges);
    g_test_add_func ("/engine/data/normalize-u8", test_normalize_u8);
    g_test_add_func ("/engine/data/normalize-f32", test_normalize_f32);
    g_test_add_func ("/engine/data/batch-u8", test_batch_u8);
    g_test_add_func ("/engine/data/batch-threads", test_batch_threads);
    return g_test_run ();
}
