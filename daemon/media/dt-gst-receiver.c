#include "dt-gst-receiver.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/dt-error.h"

/* Datagrams taken from one socket per wake-up before the others get
 * their turn. */
#define BURST 16
#define EVENTS 64
#define DATAGRAM_MAX 65536
/* From twenty calls (a packet a millisecond at 20 ms packets) the thread
 * lets datagrams gather for a millisecond after each round, as a network
 * card moderates its interrupts: a wake-up costs more than the packet it
 * brings, and a millisecond is little to a jitter buffer of 30. Fewer
 * calls, where a wake-up would bring one packet anyway, are not delayed. */
#define GATHER_MIN_SOCKETS 40
#define GATHER_USEC 1000

struct _DtGstReceiverEntry {
  int           fd;
  DtGstPushSrc *source;
  gint         *packets;
  gboolean      removed;
};

struct _DtGstReceiver {
  GObject  parent_instance;
  gint     sockets;       /* atomic */
  int      epoll_fd;
  int      wake_fd;       /* tells the thread to stop */
  GThread *thread;
  /* Held by the thread while it pushes a batch: once remove() has taken
   * it, nothing more goes to a removed entry. */
  GMutex   lock;
  gboolean stopping;
  GSList  *removed;       /* freed by the thread: a batch it is about to
                           * take may still name them */
  guint8  *buffer;        /* the thread's, for the largest datagram */
};

G_DEFINE_FINAL_TYPE (DtGstReceiver, dt_gst_receiver, G_TYPE_OBJECT)

static void
receive_from (DtGstReceiver      *self,
              DtGstReceiverEntry *entry)
{
  for (guint i = 0; i < BURST; i++)
    {
      ssize_t n = recv (entry->fd, self->buffer, DATAGRAM_MAX, MSG_DONTWAIT);

      if (n < 0)
        {
          /* ICMP errors reported on the socket (a peer not listening yet)
           * are not the stream's end: udpsrc skips them too. */
          if (errno == EAGAIN || errno == EWOULDBLOCK)
            return;
          continue;
        }
      if (n == 0)
        continue;
      if (entry->packets != NULL)
        g_atomic_int_inc (entry->packets);
      if (dt_gst_push_src_push (entry->source, self->buffer, n) != GST_FLOW_OK)
        return;
    }
}

static gpointer
receive_loop (gpointer user_data)
{
  DtGstReceiver *self = user_data;
  struct epoll_event events[EVENTS];

  for (;;)
    {
      int n = epoll_wait (self->epoll_fd, events, EVENTS, -1);

      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          g_critical ("RTP receiver: epoll_wait: %s; no more audio is received", g_strerror (errno));
          return NULL;
        }
      g_mutex_lock (&self->lock);
      for (int i = 0; i < n; i++)
        {
          DtGstReceiverEntry *entry = events[i].data.ptr;

          if (entry != NULL && !entry->removed)
            receive_from (self, entry);
        }
      g_slist_free_full (g_steal_pointer (&self->removed), g_free);
      if (self->stopping)
        {
          g_mutex_unlock (&self->lock);
          return NULL;
        }
      g_mutex_unlock (&self->lock);
      if (g_atomic_int_get (&self->sockets) >= GATHER_MIN_SOCKETS)
        g_usleep (GATHER_USEC);
    }
}

DtGstReceiverEntry *
dt_gst_receiver_add (DtGstReceiver  *self,
                     GSocket        *socket,
                     DtGstPushSrc   *source,
                     gint           *packets,
                     GError        **error)
{
  DtGstReceiverEntry *entry = g_new0 (DtGstReceiverEntry, 1);
  struct epoll_event event = { .events = EPOLLIN };

  entry->fd = g_socket_get_fd (socket);
  entry->source = g_object_ref (source);
  entry->packets = packets;
  event.data.ptr = entry;
  if (epoll_ctl (self->epoll_fd, EPOLL_CTL_ADD, entry->fd, &event) < 0)
    {
      int saved = errno;

      g_set_error (error, DT_ERROR, DT_ERROR_FAILED, "cannot watch an RTP socket: %s", g_strerror (saved));
      g_object_unref (entry->source);
      g_free (entry);
      return NULL;
    }
  g_atomic_int_inc (&self->sockets);
  if (self->thread == NULL)
    self->thread = g_thread_new ("dt-rtp-receive", receive_loop, self);
  return entry;
}

void
dt_gst_receiver_remove (DtGstReceiver      *self,
                        DtGstReceiverEntry *entry)
{
  g_mutex_lock (&self->lock);
  epoll_ctl (self->epoll_fd, EPOLL_CTL_DEL, entry->fd, NULL);
  g_atomic_int_add (&self->sockets, -1);
  entry->removed = TRUE;
  g_clear_object (&entry->source);
  self->removed = g_slist_prepend (self->removed, entry);
  g_mutex_unlock (&self->lock);
}

static void
dt_gst_receiver_finalize (GObject *object)
{
  DtGstReceiver *self = DT_GST_RECEIVER (object);

  if (self->thread != NULL)
    {
      guint64 one = 1;

      g_mutex_lock (&self->lock);
      self->stopping = TRUE;
      g_mutex_unlock (&self->lock);
      if (write (self->wake_fd, &one, sizeof one) != sizeof one)
        g_warning ("RTP receiver: cannot wake its thread: %s", g_strerror (errno));
      g_thread_join (self->thread);
    }
  g_slist_free_full (self->removed, g_free);
  g_free (self->buffer);
  if (self->wake_fd >= 0)
    close (self->wake_fd);
  if (self->epoll_fd >= 0)
    close (self->epoll_fd);
  g_mutex_clear (&self->lock);
  G_OBJECT_CLASS (dt_gst_receiver_parent_class)->finalize (object);
}

static void
dt_gst_receiver_class_init (DtGstReceiverClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = dt_gst_receiver_finalize;
}

static void
dt_gst_receiver_init (DtGstReceiver *self)
{
  g_mutex_init (&self->lock);
  self->epoll_fd = -1;
  self->wake_fd = -1;
  self->buffer = g_malloc (DATAGRAM_MAX);
}

DtGstReceiver *
dt_gst_receiver_new (GError **error)
{
  g_autoptr(DtGstReceiver) self = g_object_new (DT_TYPE_GST_RECEIVER, NULL);
  struct epoll_event event = { .events = EPOLLIN, .data.ptr = NULL };

  self->epoll_fd = epoll_create1 (EPOLL_CLOEXEC);
  self->wake_fd = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (self->epoll_fd < 0 || self->wake_fd < 0 ||
      epoll_ctl (self->epoll_fd, EPOLL_CTL_ADD, self->wake_fd, &event) < 0)
    {
      int saved = errno;

      g_set_error (error, DT_ERROR, DT_ERROR_FAILED, "cannot make the RTP receiver's epoll set: %s",
                   g_strerror (saved));
      return NULL;
    }
  return g_steal_pointer (&self);
}
