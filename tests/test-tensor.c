/* test-tensor.c: shapes and tensors (the value types every layer uses). */
#include "dn-error.h"
#include "dn-tensor.h"
#include "dn-test-util.h"

#include <string.h>


static void test_shape_numel (void)
{
    DnShape s1 = dn_shape_1d (7), s2 = dn_shape_2d (3, 4), s3 = dn_shape_3d (32, 26, 26),
            s4 = dn_shape_4d (2, 3, 5, 7);
    g_assert_cmpint (s1.ndim, ==, 1);
    g_assert_cmpint (s4.ndim, ==, 4);
    g_assert_cmpint (dn_shape_numel (&s1), ==, 7);
    g_assert_cmpint (dn_shape_numel (&s2), ==, 12);
    g_assert_cmpint (dn_shape_numel (&s3), ==, 32 * 26 * 26);
    g_assert_cmpint (dn_shape_numel (&s4), ==, 210);
    g_assert_cmpint (s4.d[0], ==, 2);
    g_assert_cmpint (s4.d[3], ==, 7);

    /* A scalar has one element; a zero dimension makes a tensor empty. */
    DnShape scalar = dn_shape_make (0, NULL);
    g_assert_cmpint (dn_shape_numel (&scalar), ==, 1);
    DnShape empty = dn_shape_3d (4, 0, 9);
    g_assert_cmpint (dn_shape_numel (&empty), ==, 0);

    const int64_t d6[] = {1, 2, 3, 4, 5, 6};
    DnShape s6 = dn_shape_make (DN_MAX_DIMS, d6);
    g_assert_cmpint (s6.ndim, ==, 6);
    g_assert_cmpint (dn_shape_numel (&s6), ==, 720);
}

static void test_shape_equal (void)
{
    DnShape a = dn_shape_3d (32, 26, 26), b = dn_shape_3d (32, 26, 26);
    DnShape c = dn_shape_3d (32, 26, 25), d = dn_shape_2d (32, 26);
    g_assert_true (dn_shape_equal (&a, &b));
    g_assert_false (dn_shape_equal (&a, &c));
    g_assert_false (dn_shape_equal (&a, &d));
    g_assert_false (dn_shape_equal (&d, &a));
    /* Only the first ndim entries count. */
    DnShape e = d;
    e.d[2] = 99;
    g_assert_true (dn_shape_equal (&d, &e));
    DnShape s0 = dn_shape_make (0, NULL), t0 = dn_shape_make (0, NULL);
    g_assert_true (dn_shape_equal (&s0, &t0));
}

static void test_shape_to_string (void)
{
    DnShape s3 = dn_shape_3d (32, 26, 26);
    g_autofree char *a = dn_shape_to_string (&s3);
    g_assert_cmpstr (a, ==, "(32, 26, 26)");
    DnShape s1 = dn_shape_1d (10);
    g_autofree char *b = dn_shape_to_string (&s1);
    g_assert_cmpstr (b, ==, "(10)");
    DnShape s0 = dn_shape_make (0, NULL);
    g_autofree char *c = dn_shape_to_string (&s0);
    g_assert_cmpstr (c, ==, "()");
    DnShape big = dn_shape_2d (G_GINT64_CONSTANT (10000000000), 3);
    g_autofree char *d = dn_shape_to_string (&big);
    g_assert_cmpstr (d, ==, "(10000000000, 3)");
}

static void test_tensor_new (void)
{
    g_autoptr (GError) error = NULL;
    DnShape s = dn_shape_3d (3, 5, 7);
    g_autoptr (DnTensor) t = dn_tensor_new (4, &s, &error);
    g_assert_no_error (error);
    g_assert_nonnull (t);
    g_assert_true (t->owns_data);
    g_assert_cmpint (t->device, ==, DN_DEVICE_CPU);
    g_assert_cmpint (t->ndim, ==, 4);
    g_assert_cmpint (t->shape[0], ==, 4);
    g_assert_cmpint (t->shape[1], ==, 3);
    g_assert_cmpint (t->shape[3], ==, 7);
    g_assert_cmpint (dn_tensor_numel (t), ==, 4 * 105);
    for (int64_t i = 0; i < dn_tensor_numel (t); i++)
        g_assert_cmpfloat (t->data[i], ==, 0.0f);
    /* The memory is really there (AddressSanitizer checks the last element). */
    t->data[dn_tensor_numel (t) - 1] = 1.0f;

    DnShape none = dn_shape_make (0, NULL);
    g_autoptr (DnTensor) batch_only = dn_tensor_new (9, &none, &error);
    g_assert_no_error (error);
    g_assert_cmpint (batch_only->ndim, ==, 1);
    g_assert_cmpint (dn_tensor_numel (batch_only), ==, 9);

    dn_tensor_free (NULL);
}

static void test_tensor_new_nomem (void)
{
    /* 2^43 floats: 32 TiB, more than any test machine has. */
    g_autoptr (GError) error = NULL;
    DnShape s = dn_shape_2d (1 << 20, 1 << 20);
    DnTensor *t = dn_tensor_new (1 << 3, &s, &error);
    g_assert_null (t);
    g_assert_error (error, DN_ERROR, DN_ERROR_NOMEM);
    g_assert_nonnull (strstr (error->message, "MB"));
}

static void test_tensor_view (void)
{
    float buf[2 * 3 * 4];
    DnTensor t;
    DnShape s = dn_shape_2d (3, 4);
    dn_tensor_view (&t, buf, 2, &s);
    g_assert_true (t.data == buf);
    g_assert_false (t.owns_data);
    g_assert_cmpint (t.device, ==, DN_DEVICE_CPU);
    g_assert_cmpint (t.ndim, ==, 3);
    g_assert_cmpint (t.shape[0], ==, 2);
    g_assert_cmpint (t.shape[1], ==, 3);
    g_assert_cmpint (t.shape[2], ==, 4);
    g_assert_cmpint (dn_tensor_numel (&t), ==, 24);

    /* A view of an owned tensor's data does not take ownership. */
    g_autoptr (GError) error = NULL;
    g_autoptr (DnTensor) owner = dn_tensor_new (2, &s, &error);
    g_assert_no_error (error);
    DnTensor v;
    DnShape flat = dn_shape_1d (12);
    dn_tensor_view (&v, owner->data, 2, &flat);
    g_assert_false (v.owns_data);
    g_assert_cmpint (dn_tensor_numel (&v), ==, dn_tensor_numel (owner));
}

static void test_sample_shape (void)
{
    float buf[1];
    DnTensor t;
    DnShape s = dn_shape_3d (32, 26, 26);
    dn_tensor_view (&t, buf, 64, &s);
    DnShape sample = dn_tensor_sample_shape (&t);
    g_assert_true (dn_shape_equal (&sample, &s));

    DnShape none = dn_shape_make (0, NULL);
    dn_tensor_view (&t, buf, 5, &none);
    sample = dn_tensor_sample_shape (&t);
    g_assert_cmpint (sample.ndim, ==, 0);
    g_assert_cmpint (dn_shape_numel (&sample), ==, 1);
}

int main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    g_test_add_func ("/engine/tensor/shape-numel", test_shape_numel);
    g_test_add_func ("/engine/tensor/shape-equal", test_shape_equal);
    g_test_add_func ("/engine/tensor/shape-to-string", test_shape_to_string);
    g_test_add_func ("/engine/tensor/new", test_tensor_new);
    g_test_add_func ("/engine/tensor/new-nomem", test_tensor_new_nomem);
    g_test_add_func ("/engine/tensor/view", test_tensor_view);
    g_test_add_func ("/engine/tensor/sample-shape", test_sample_shape);
    return g_test_run ();
}
