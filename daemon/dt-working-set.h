#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Unmaps the pages of this process's read-only file mappings (code,
 * read-only data, relocation and symbol tables, the locale) that nothing
 * has written to, so that RSS counts what the idle daemon touches rather
 * than everything start-up or a finished call ever touched. The pages stay
 * in the page cache: one used again is mapped back by a minor fault. A
 * mapping with any anonymous page (a relocated RELRO segment, text patched
 * by a debugger's breakpoint or by text relocations) is left alone, since
 * MADV_DONTNEED would throw those changes away. Returns the bytes of RSS
 * given back. */
gsize dt_working_set_trim (void);

G_END_DECLS
