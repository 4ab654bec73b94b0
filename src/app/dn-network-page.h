/* dn-network-page.h: the network as an editable list of layers.
 *
 * Each layer is a row: name, kind and settings, output shape and parameter
 * count (computed live by building the network with the engine, see
 * dn-network-info.h), whether it gets dendrites, is tracked only or is
 * left alone; expanding a row edits its name and settings and moves or
 * removes it. A palette adds layers after the selected one, the template
 * menu starts over from an example, Import opens an experiment or a model.
 * Alt+Up / Alt+Down move the selected layer, Delete removes it.
 */
#pragma once

#include "dn-document.h"

#include <adwaita.h>

G_BEGIN_DECLS

#define DN_TYPE_NETWORK_PAGE (dn_network_page_get_type ())
G_DECLARE_FINAL_TYPE (DnNetworkPage, dn_network_page, DN, NETWORK_PAGE, AdwBin)

void dn_network_page_set_document (DnNetworkPage *self, DnDocument *doc);
/* What a row shows, for tests: "name|kind|settings|output|params|dendrites|error". g_free. */
char *dn_network_page_describe_row (DnNetworkPage *self, guint i);
guint dn_network_page_n_rows (DnNetworkPage *self);

G_END_DECLS
