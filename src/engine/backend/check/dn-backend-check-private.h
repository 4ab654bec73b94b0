/* dn-backend-check-private.h: what the checking backend's two files share.
 *
 * dn-backend-check.c keeps the registry of blocks, the memory ops and the public
 * calls; dn-check-ops.c wraps every compute op, checking its pointer arguments with
 * the calls below before it runs the inner backend's op. */
#pragma once

#include "dn-backend-check.h"

G_BEGIN_DECLS

typedef struct {
    DnBackend be; /* the table handed out; be.priv points back here */
    DnBackend *inner;
    GMutex lock;
    GArray *blocks; /* DnCheckBlock, sorted by start, never overlapping */
    guint64 n_violations;
    GPtrArray *kept; /* the first DN_BACKEND_CHECK_KEPT messages */
} DnCheck;

typedef struct {
    uintptr_t start, end; /* [start, end) */
} DnCheckBlock;

static inline DnBackend *_dn_check_inner (DnBackend *be)
{
    return ((DnCheck *) be->priv)->inner;
}

/* Argument `arg` of op `op` must be backend memory holding count elements of elem bytes
 * from p on: _dn_check_dev refuses NULL, _dn_check_opt lets it pass. Both return TRUE
 * when p is such memory (FALSE for NULL), so the caller may read it. */
gboolean _dn_check_dev (DnBackend *be, const char *op, const char *arg, const void *p, size_t count,
                        size_t elem);
gboolean _dn_check_opt (DnBackend *be, const char *op, const char *arg, const void *p, size_t count,
                        size_t elem);
/* Argument `arg` is host memory: it must not be backend memory (NULL passes). TRUE when
 * it is not. */
gboolean _dn_check_host (DnBackend *be, const char *op, const char *arg, const void *p);
/* Records a violation: counted, kept and reported with g_critical. */
void _dn_check_fail (DnBackend *be, const char *format, ...) G_GNUC_PRINTF (2, 3);

/* Fills the compute ops of the table (dn-check-ops.c); the memory ops are the caller's. */
void _dn_check_fill_ops (DnBackend *table);

G_END_DECLS
