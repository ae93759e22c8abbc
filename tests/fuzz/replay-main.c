/* Runs a fuzz target's LLVMFuzzerTestOneInput over the files and
 * directories given, without libFuzzer: how `meson test` replays the seed
 * corpus (and past crashes) in the ordinary and sanitizer builds. Each
 * input gets a buffer of exactly its size, as under libFuzzer, so that
 * AddressSanitizer sees any read past the end. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

/* Targets that need no set-up do not define it. */
__attribute__ ((weak)) int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  return 0;
}

static gboolean
replay_file (const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  uint8_t *exact;
  gsize length;

  if (!g_file_get_contents (path, &contents, &length, &error))
    {
      fprintf (stderr, "%s\n", error->message);
      return FALSE;
    }
  /* malloc(0) may return NULL; libFuzzer passes a valid pointer. */
  /* Names the input that fails, if one does. */
  fprintf (stderr, "%s\n", path);
  exact = malloc (length ? length : 1);
  memcpy (exact, contents, length);
  LLVMFuzzerTestOneInput (exact, length);
  free (exact);
  return TRUE;
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return strcmp (*(char * const *) a, *(char * const *) b);
}

int
main (int    argc,
      char **argv)
{
  guint replayed = 0;

  if (argc < 2)
    {
      fprintf (stderr, "usage: %s FILE|DIR...\n", argv[0]);
      return 2;
    }
  LLVMFuzzerInitialize (&argc, &argv);

  for (int i = 1; i < argc; i++)
    {
      if (g_file_test (argv[i], G_FILE_TEST_IS_DIR))
        {
          g_autoptr(GError) error = NULL;
          g_autoptr(GDir) dir = g_dir_open (argv[i], 0, &error);
          g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
          const char *name;

          if (dir == NULL)
            {
              fprintf (stderr, "%s\n", error->message);
              return 1;
            }
          while ((name = g_dir_read_name (dir)) != NULL)
            if (name[0] != '.')
              g_ptr_array_add (paths, g_build_filename (argv[i], name, NULL));
          g_ptr_array_sort (paths, compare_strings);
          for (guint j = 0; j < paths->len; j++)
            {
              if (!replay_file (paths->pdata[j]))
                return 1;
              replayed++;
            }
        }
      else
        {
          if (!replay_file (argv[i]))
            return 1;
          replayed++;
        }
    }

  /* An empty or missing corpus would otherwise pass without testing. */
  if (replayed == 0)
    {
      fprintf (stderr, "no inputs to replay\n");
      return 1;
    }
  printf ("%u inputs replayed without a failure\n", replayed);
  return 0;
}
