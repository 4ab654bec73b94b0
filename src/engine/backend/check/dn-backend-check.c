/* dn-backend-check.c: the checking backend's registry of blocks, its memory ops and
 * the calls that report what it found (see dn-backend-check.h). */
#include "dn-backend-check-private.h"

#include <stdarg.h>
#include <stdint.h>

/* ---- the registry ---- */

/* Index of the last block starting at or before p, or -1. Called with the lock held. */
static int find_block (DnCheck *ck, uintptr_t p)
{
    int lo = 0, hi = (int) ck->blocks->len - 1, found = -1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        if (g_array_index (ck->blocks, DnCheckBlock, mid).start <= p) {
            found = mid;
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    return found;
}

/* The block holding [p, p + bytes) (a pointer just past a block's end holds 0 bytes), or
 * FALSE; *near gets the block that starts at or before p, if any. */
static gboolean lookup (DnCheck *ck, const void *p, size_t bytes, DnCheckBlock *near)
{
    uintptr_t a = (uintptr_t) p;
    g_mutex_lock (&ck->lock);
    int i = find_block (ck, a);
    gboolean ok = FALSE;
    if (i >= 0) {
        *near = g_array_index (ck->blocks, DnCheckBlock, i);
        ok = a <= near->end && bytes <= near->end - a;
    } else {
        near->start = near->end = 0;
    }
    g_mutex_unlock (&ck->lock);
    return ok;
}

void _dn_check_fail (DnBackend *be, const char *format, ...)
{
    DnCheck *ck = be->priv;
    va_list args;
    va_start (args, format);
    g_autofree char *msg = g_strdup_vprintf (format, args);
    va_end (args);
    g_mutex_lock (&ck->lock);
    ck->n_violations++;
    if (ck->kept->len < DN_BACKEND_CHECK_KEPT)
        g_ptr_array_add (ck->kept, g_strdup (msg));
    g_mutex_unlock (&ck->lock);
    g_critical ("backend check: %s", msg);
}

static gboolean check_arg (DnBackend *be, const char *op, const char *arg, const void *p,
                           size_t count, size_t elem, gboolean nullable)
{
    if (p == NULL) {
        if (!nullable)
            _dn_check_fail (be, "%s: argument %s is NULL; it must be memory of the backend", op,
                            arg);
        return FALSE;
    }
    if (elem > 0 && count > SIZE_MAX / elem) {
        _dn_check_fail (be, "%s: argument %s (%p) would hold %zu elements, more than memory can",
                        op, arg, p, count);
        return FALSE;
    }
    size_t bytes = count * elem;
    DnCheckBlock b;
    if (lookup (be->priv, p, bytes, &b))
        return TRUE;
    uintptr_t a = (uintptr_t) p;
    if (b.end == 0 || a > b.end)
        _dn_check_fail (be,
                        "%s: argument %s (%p) is not memory of the backend; allocate it with "
                        "be->alloc and copy host data into it with be->upload",
                        op, arg, p);
    else
        _dn_check_fail (be,
                        "%s: argument %s (%p) needs %zu bytes, but its block (%p, %zu bytes) "
                        "ends %zu bytes after it",
                        op, arg, p, bytes, (void *) b.start, (size_t) (b.end - b.start),
                        (size_t) (b.end - a));
    return FALSE;
}

gboolean _dn_check_dev (DnBackend *be, const char *op, const char *arg, const void *p, size_t count,
                        size_t elem)
{
    return check_arg (be, op, arg, p, count, elem, FALSE);
}

gboolean _dn_check_opt (DnBackend *be, const char *op, const char *arg, const void *p, size_t count,
                        size_t elem)
{
    return check_arg (be, op, arg, p, count, elem, TRUE);
}

gboolean _dn_check_host (DnBackend *be, const char *op, const char *arg, const void *p)
{
    DnCheckBlock b;
    if (p == NULL || !lookup (be->priv, p, 0, &b) || (uintptr_t) p == b.end)
        return TRUE;
    _dn_check_fail (be,
                    "%s: argument %s (%p) is memory of the backend, where the op takes host "
                    "memory",
                    op, arg, p);
    return FALSE;
}

/* ---- memory ops ---- */

static void *check_alloc (DnBackend *be, size_t bytes)
{
    DnCheck *ck = be->priv;
    void *p = ck->inner->alloc (ck->inner, bytes);
    if (p == NULL)
        return NULL;
    DnCheckBlock b = {(uintptr_t) p, (uintptr_t) p + bytes};
    g_mutex_lock (&ck->lock);
    g_array_insert_val (ck->blocks, (guint) (find_block (ck, b.start) + 1), b);
    g_mutex_unlock (&ck->lock);
    return p;
}

static void check_free (DnBackend *be, void *p)
{
    DnCheck *ck = be->priv;
    if (p == NULL)
        return;
    g_mutex_lock (&ck->lock);
    int i = find_block (ck, (uintptr_t) p);
    gboolean known = i >= 0 && g_array_index (ck->blocks, DnCheckBlock, i).start == (uintptr_t) p;
    if (known)
        g_array_remove_index (ck->blocks, (guint) i);
    g_mutex_unlock (&ck->lock);
    if (!known) {
        _dn_check_fail (be,
                        "free: %p is not the start of a block of this backend (freed twice, or "
                        "not from its alloc); not freed",
                        p);
        return;
    }
    ck->inner->free (ck->inner, p);
}

/* The memory ops run the inner backend's only when their arguments pass, as the
 * compute ops do (dn-check-ops.c). */
static void check_upload (DnBackend *be, void *dst, const void *host_src, size_t bytes)
{
    gboolean ok = _dn_check_dev (be, "upload", "dst", dst, bytes, 1);
    ok &= _dn_check_host (be, "upload", "host_src", host_src);
    DnBackend *in = _dn_check_inner (be);
    if (ok)
        in->upload (in, dst, host_src, bytes);
}

static void check_download (DnBackend *be, void *host_dst, const void *src, size_t bytes)
{
    gboolean ok = _dn_check_host (be, "download", "host_dst", host_dst);
    ok &= _dn_check_dev (be, "download", "src", src, bytes, 1);
    DnBackend *in = _dn_check_inner (be);
    if (ok)
        in->download (in, host_dst, src, bytes);
}

static void check_zero (DnBackend *be, float *x, size_t n)
{
    DnBackend *in = _dn_check_inner (be);
    if (_dn_check_dev (be, "zero", "x", x, n, sizeof (float)))
        in->zero (in, x, n);
}

static void check_copy (DnBackend *be, float *dst, const float *src, size_t n)
{
    gboolean ok = _dn_check_dev (be, "copy", "dst", dst, n, sizeof (float));
    ok &= _dn_check_dev (be, "copy", "src", src, n, sizeof (float));
    DnBackend *in = _dn_check_inner (be);
    if (ok)
        in->copy (in, dst, src, n);
}

static void check_synchronize (DnBackend *be)
{
    DnBackend *in = _dn_check_inner (be);
    in->synchronize (in);
}

/* ---- making one, and what it found ---- */

DnBackend *dn_backend_check_new (DnBackend *inner)
{
    g_return_val_if_fail (inner != NULL, NULL);
    DnCheck *ck = g_new0 (DnCheck, 1);
    ck->inner = inner;
    g_mutex_init (&ck->lock);
    ck->blocks = g_array_new (FALSE, FALSE, sizeof (DnCheckBlock));
    ck->kept = g_ptr_array_new_with_free_func (g_free);
    DnBackend *be = &ck->be;
    _dn_check_fill_ops (be);
    be->name = "check";
    be->alloc = check_alloc;
    be->free = check_free;
    be->upload = check_upload;
    be->download = check_download;
    be->zero = check_zero;
    be->copy = check_copy;
    be->synchronize = check_synchronize;
    /* optional ops stay optional: the engine asks for them by testing the pointer */
    if (inner->segment_rows == NULL)
        be->segment_rows = NULL;
    if (inner->sparse_rows_gemm == NULL)
        be->sparse_rows_gemm = NULL;
    if (inner->sparse_outer == NULL)
        be->sparse_outer = NULL;
    if (inner->sparse_gemm_nt == NULL)
        be->sparse_gemm_nt = NULL;
    be->priv = ck;
    return be;
}

gboolean dn_backend_is_check (const DnBackend *be)
{
    return be != NULL && be->alloc == check_alloc;
}

void dn_backend_check_free (DnBackend *be)
{
    if (be == NULL)
        return;
    g_return_if_fail (dn_backend_is_check (be));
    DnCheck *ck = be->priv;
    g_array_unref (ck->blocks);
    g_ptr_array_unref (ck->kept);
    g_mutex_clear (&ck->lock);
    g_free (ck);
}

guint64 dn_backend_check_n_violations (DnBackend *be)
{
    g_return_val_if_fail (dn_backend_is_check (be), 0);
    DnCheck *ck = be->priv;
    g_mutex_lock (&ck->lock);
    guint64 n = ck->n_violations;
    g_mutex_unlock (&ck->lock);
    return n;
}

char *dn_backend_check_violations (DnBackend *be)
{
    g_return_val_if_fail (dn_backend_is_check (be), NULL);
    DnCheck *ck = be->priv;
    g_mutex_lock (&ck->lock);
    GString *s = NULL;
    for (guint i = 0; i < ck->kept->len; i++) {
        s = s != NULL ? s : g_string_new (NULL);
        g_string_append_printf (s, "%s\n", (const char *) ck->kept->pdata[i]);
    }
    if (ck->n_violations > ck->kept->len)
        g_string_append_printf (s, "and %" G_GUINT64_FORMAT " more\n",
                                ck->n_violations - ck->kept->len);
    g_mutex_unlock (&ck->lock);
    return s != NULL ? g_string_free (s, FALSE) : NULL;
}

void dn_backend_check_reset (DnBackend *be)
{
    g_return_if_fail (dn_backend_is_check (be));
    DnCheck *ck = be->priv;
    g_mutex_lock (&ck->lock);
    ck->n_violations = 0;
    g_ptr_array_set_size (ck->kept, 0);
    g_mutex_unlock (&ck->lock);
}

guint dn_backend_check_n_blocks (DnBackend *be)
{
    g_return_val_if_fail (dn_backend_is_check (be), 0);
    DnCheck *ck = be->priv;
    g_mutex_lock (&ck->lock);
    guint n = ck->blocks->len;
    g_mutex_unlock (&ck->lock);
    return n;
}

gboolean dn_backend_check_owns (DnBackend *be, const void *p, size_t bytes)
{
    g_return_val_if_fail (dn_backend_is_check (be), FALSE);
    DnCheckBlock b;
    return p != NULL && lookup (be->priv, p, bytes, &b);
}

DnBackend *dn_backend_check (void)
{
    static DnBackend *check;
    if (g_once_init_enter (&check))
        g_once_init_leave (&check, dn_backend_check_new (dn_backend_cpu ()));
    return check;
}
