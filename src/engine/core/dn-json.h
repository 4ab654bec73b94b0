/* dn-json.h: writing JSON text that every parser reads back.
 *
 * json-glib 1.6's generator prints a double such as 1e-08 as "1e-08.0",
 * which is not JSON; this writer prints numbers with g_ascii_dtostr (the
 * shortest text that reads back to the same double, never a locale comma),
 * non-finite numbers as null, and strings escaped per RFC 8259.
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* Parses JSON text after checking that it nests at most 64 levels deep:
 * json-glib recurses once per level, so a hostile file of a few hundred
 * kilobytes of brackets would otherwise overflow the stack. `what` names the
 * text in messages. Returns the root (unref with json_node_unref). */
JsonNode *dn_json_parse (const char *text, gssize len, const char *what, GError **error);

/* A short rendering of a JSON value for error messages: "fast", -1, true, an array.
 * Free with g_free. */
char *dn_json_describe (JsonNode *node);

/* pretty: two-space indentation and a newline at the end. Free with g_free. */
char *dn_json_to_string (JsonNode *node, gboolean pretty);
/* Writes atomically (temporary file + rename). */
gboolean dn_json_save (JsonNode *node, const char *path, GError **error);

G_END_DECLS
