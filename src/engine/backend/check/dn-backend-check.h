/* dn-backend-check.h: a backend that holds the engine to the device contract.
 *
 * The contract (dn-backend.h): every pointer that reaches a layer or a backend op is
 * memory of that backend, from its alloc. On the CPU a host pointer in the wrong place
 * works by accident; on a GPU it faults or reads garbage. The checking backend makes
 * the mistake visible on the CPU: it runs another backend's ops (one whose memory is
 * host memory: the CPU's) and keeps a registry of the blocks its alloc handed out.
 * Before each op it checks every pointer argument against the registry: the pointer
 * lies in one block, with the elements the op will touch (where the arguments say how
 * many), and NULL only where the op allows it. The few host-side arguments (upload's
 * source, download's destination, a loss's `loss`, segment_grad's row flags) must not
 * be backend memory. free takes only a block's start.
 *
 * A violation is counted, its message kept (the op, the argument, the address and what
 * was wrong) and reported with g_critical, which fails a GLib test at once and stops a
 * run under G_DEBUG=fatal-criticals. The op is then skipped, as a device would fault
 * on it, and the run goes on, so a debugging run lists every violation. Where every
 * argument passes, the inner op runs unchanged: results are the CPU's, bit for bit.
 *
 * `--device check` selects one over the CPU backend (dn_backend_check() in
 * dn-backend.h).
 */
#pragma once

#include "dn-backend.h"

G_BEGIN_DECLS

/* A checking backend over `inner`, whose memory must be host memory (the CPU backend).
 * Free with dn_backend_check_free after everything allocated on it is freed. */
DnBackend *dn_backend_check_new (DnBackend *inner);
void dn_backend_check_free (DnBackend *be);
/* TRUE for a backend made by dn_backend_check_new or dn_backend_check. */
gboolean dn_backend_is_check (const DnBackend *be);

/* Violations since the backend was made or last reset. */
guint64 dn_backend_check_n_violations (DnBackend *be);
/* Their messages, one a line (the first DN_BACKEND_CHECK_KEPT), or NULL when there are
 * none; free with g_free. */
#define DN_BACKEND_CHECK_KEPT 32
char *dn_backend_check_violations (DnBackend *be);
void dn_backend_check_reset (DnBackend *be);

/* Blocks allocated and not yet freed. */
guint dn_backend_check_n_blocks (DnBackend *be);
/* TRUE when [p, p + bytes) lies inside one allocated block. */
gboolean dn_backend_check_owns (DnBackend *be, const void *p, size_t bytes);

G_END_DECLS
