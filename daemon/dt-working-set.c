#include "dt-working-set.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

typedef struct {
  uintptr_t start;
  uintptr_t end;
  gboolean candidate;  /* file-backed and not writable */
  guint64  rss_kb;
  guint64  anonymous_kb;
} Mapping;

static void
trim_mapping (const Mapping *m,
              gsize         *given_back)
{
  if (!m->candidate || m->rss_kb == 0 || m->anonymous_kb != 0)
    return;
  if (madvise ((void *) m->start, m->end - m->start, MADV_DONTNEED) != 0)
    {
      g_debug ("Working set: madvise at %#" PRIxPTR ": %s", m->start, g_strerror (errno));
      return;
    }
  *given_back += m->rss_kb * 1024;
}

gsize
dt_working_set_trim (void)
{
  g_autofree char *smaps = NULL;
  g_autoptr(GError) error = NULL;
  Mapping current = { 0 };
  gsize given_back = 0;
  char *line, *next;

  /* One snapshot, then madvise. Mappings are not unmapped under us: this
   * runs on the main thread, which alone loads modules, and glibc never
   * unloads the NSS modules that resolver threads may load. */
  if (!g_file_get_contents ("/proc/self/smaps", &smaps, NULL, &error))
    {
      g_debug ("Working set: %s", error->message);
      return 0;
    }
  for (line = smaps; line != NULL && *line != '\0'; line = next)
    {
      next = strchr (line, '\n');
      if (next != NULL)
        *next++ = '\0';
      /* A mapping's first line is "START-END PERMS OFFSET DEV INODE [PATH]"
       * (lower-case hex); its fields follow as "Key:   value kB". */
      if (g_ascii_isdigit (line[0]) || (line[0] >= 'a' && line[0] <= 'f'))
        {
          char perms[5] = "";
          int path_at = 0;

          trim_mapping (&current, &given_back);
          memset (&current, 0, sizeof current);
          if (sscanf (line, "%" SCNxPTR "-%" SCNxPTR " %4s %*s %*s %*s %n",
                      &current.start, &current.end, perms, &path_at) == 3 && path_at > 0)
            current.candidate = line[path_at] == '/' && perms[0] == 'r' && perms[1] != 'w';
        }
      else if (g_str_has_prefix (line, "Rss:"))
        current.rss_kb = g_ascii_strtoull (line + 4, NULL, 10);
      else if (g_str_has_prefix (line, "Anonymous:"))
        current.anonymous_kb = g_ascii_strtoull (line + 10, NULL, 10);
    }
  trim_mapping (&current, &given_back);
  return given_back;
}
