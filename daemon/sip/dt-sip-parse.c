#include "dt-sip-parse.h"

#include <string.h>

#include <sofia-sip/url.h>

#include "core/dt-error.h"

gboolean
dt_sip_uri_check (const char  *uri,
                  GError     **error)
{
  su_home_t home[1] = { SU_HOME_INIT (home) };
  url_t *url = url_make (home, uri);
  gboolean ok = url != NULL &&
                (url->url_type == url_sip || url->url_type == url_sips) &&
                url->url_host != NULL && *url->url_host != '\0' &&
                strpbrk (uri, " \t\r\n<>\"") == NULL;

  su_home_deinit (home);
  if (!ok)
    g_set_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS,
                 "'%s' is not a SIP URI (sip:user@host or sips:user@host)", uri);
  return ok;
}

/* The value of ";name=value" in URI parameters, up to the next ';'. Not
 * Sofia's url_param(): in 1.12.11 it reads past the end of parameters such
 * as "maddr<x" (found by tests/fuzz). */
static const char *
param_value (const char *params,
             const char *name)
{
  gsize len = strlen (name);

  const char *p = params;

  while (p != NULL)
    {
      if (g_ascii_strncasecmp (p, name, len) == 0 && p[len] == '=')
        return p + len + 1;
      p = strchr (p, ';');
      if (p != NULL)
        p++;
    }
  return NULL;
}

char *
dt_sip_uri_ip (const char *uri)
{
  su_home_t home[1] = { SU_HOME_INIT (home) };
  url_t *url = uri ? url_make (home, uri) : NULL;
  char *ip = NULL;
  const char *maddr;

  if (url != NULL && (maddr = param_value (url->url_params, "maddr")) != NULL)
    ip = g_strndup (maddr, strcspn (maddr, ";"));
  else if (url != NULL && url->url_host)
    ip = g_strdup (url->url_host);
  su_home_deinit (home);
  if (ip && ip[0] == '[')
    {
      char *bare = g_strndup (ip + 1, strcspn (ip + 1, "]"));
      g_free (ip);
      ip = bare;
    }
  /* Sofia keeps IPv6 hosts in brackets, which GLib does not take; a host
   * name (in maddr too) is for the resolver, not for us. */
  if (ip && !g_hostname_is_ip_address (ip))
    g_clear_pointer (&ip, g_free);
  return ip;
}

gboolean
dt_sip_answer_requested (sip_t const *sip,
                         guint       *delay_s)
{
  for (sip_call_info_t const *ci = sip->sip_call_info; ci != NULL; ci = ci->ci_next)
    for (msg_param_t const *p = ci->ci_params; p && *p; p++)
      if (g_ascii_strncasecmp (*p, "answer-after=", 13) == 0)
        {
          guint64 value = 0;

          if (!g_ascii_string_to_unsigned (*p + 13, 10, 0, 3600, &value, NULL))
            return FALSE;
          *delay_s = (guint) value;
          return TRUE;
        }
  for (sip_unknown_t const *u = sip->sip_unknown; u != NULL; u = u->un_next)
    if (u->un_name && g_ascii_strcasecmp (u->un_name, "Answer-Mode") == 0 && u->un_value &&
        g_ascii_strncasecmp (u->un_value, "Auto", 4) == 0)
      {
        *delay_s = 0;
        return TRUE;
      }
  return FALSE;
}

/* The de-facto format (no RFC): "Signal=" a digit, or 10 and 11 for * and
 * #, one per line, with Duration= that we do not need. */
char *
dt_sip_dtmf_relay_signals (const char  *body,
                           gsize        length,
                           char       **unknown)
{
  g_autofree char *text = g_strndup (body, MIN (length, 1024));
  g_auto(GStrv) lines = g_strsplit_set (text, "\r\n", -1);
  GString *signals = g_string_new (NULL);

  for (guint i = 0; lines[i]; i++)
    {
      g_autofree char *line = g_strstrip (g_strdup (lines[i]));
      const char *value;

      if (g_ascii_strncasecmp (line, "Signal", 6) != 0)
        continue;
      value = line + 6;
      value += strspn (value, " \t");
      if (*value != '=')
        continue;
      value++;
      value += strspn (value, " \t");
      if (value[0] != '\0' && (value[1] == '\0' || g_ascii_isspace (value[1])))
        g_string_append_c (signals, value[0]);
      else if (g_str_equal (value, "10") || g_str_equal (value, "11"))
        g_string_append_c (signals, value[1] == '0' ? '*' : '#');
      else if (unknown != NULL && *unknown == NULL)
        *unknown = g_strdup (value);
    }
  return g_string_free (signals, FALSE);
}

guint
dt_sip_sipfrag_status (sip_t const *sip)
{
  const char *p;
  gsize len;
  guint status = 0;

  if (sip == NULL || sip->sip_payload == NULL || sip->sip_payload->pl_data == NULL)
    return 0;
  if (sip->sip_content_type != NULL && sip->sip_content_type->c_type != NULL &&
      g_ascii_strncasecmp (sip->sip_content_type->c_type, "message/sipfrag", 15) != 0)
    return 0;
  p = sip->sip_payload->pl_data;
  len = sip->sip_payload->pl_len;
  if (len < 11 || g_ascii_strncasecmp (p, "SIP/2.0 ", 8) != 0)
    return 0;
  for (gsize i = 8; i < 11; i++)
    {
      if (!g_ascii_isdigit (p[i]))
        return 0;
      status = status * 10 + (guint) (p[i] - '0');
    }
  return status >= 100 && status <= 699 ? status : 0;
}

/* Other headers are ignored: a REFER does not get to choose what else our
 * INVITE carries. */
char *
dt_sip_replaces_from_headers (su_home_t  *home,
                              const char *headers)
{
  g_auto(GStrv) fields = NULL;

  if (headers == NULL)
    return NULL;
  fields = g_strsplit (headers, "&", -1);
  for (guint i = 0; fields[i] != NULL; i++)
    if (g_ascii_strncasecmp (fields[i], "replaces=", 9) == 0)
      {
        char *value = su_strdup (home, fields[i] + 9);

        url_unescape (value, value);
        return value;
      }
  return NULL;
}
