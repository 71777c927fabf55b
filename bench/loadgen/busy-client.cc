// A load generator that never sleeps: HTTP/1.1 keep-alive GETs over N connections, polled with
// epoll_wait(timeout 0) in a loop. Why it exists (docs/performance.md, "The load generator's
// wakeups"): autocannon blocks in epoll between responses, so on these VMs a response often has to
// wake the generator's idle vCPU with an inter-processor interrupt, a hypervisor call charged to
// the server's writev. The slower the server, the more often the generator is asleep, so that
// charge grows with whatever the server adds. A generator that polls is never asleep: no IPI, and
// the server pays for its own work only, as it does answering clients on other hosts.
//
// Usage: busy-client <port> <connections> <seconds> <path> [header-line ...]
// Prints one JSON line: {"requests":..,"non2xx":..,"errors":..,"seconds":..,"p50":..,"p99":..}
// (latencies in ms, as autocannon reports them). Exits 1 if no response arrived.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

namespace {

double now() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

struct Conn {
  int fd = -1;
  std::string in;
  double sentAt = 0;
};

int connectTo(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  return fd;
}

// Case-insensitive search for a header's value in the head of a response; -1 when absent.
long headerValue(const std::string& head, const char* name) {
  size_t n = strlen(name);
  for (size_t i = head.find("\r\n"); i != std::string::npos && i + 2 < head.size(); i = head.find("\r\n", i + 2)) {
    if (head.size() - (i + 2) > n && strncasecmp(head.c_str() + i + 2, name, n) == 0 && head[i + 2 + n] == ':') {
      return strtol(head.c_str() + i + 3 + n, nullptr, 10);
    }
  }
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: busy-client <port> <connections> <seconds> <path> [header-line ...]\n");
    return 2;
  }
  const int port = atoi(argv[1]);
  const int connections = atoi(argv[2]);
  const double seconds = atof(argv[3]);
  std::string request = std::string("GET ") + argv[4] + " HTTP/1.1\r\nHost: 127.0.0.1:" + argv[1] + "\r\n";
  for (int i = 5; i < argc; i++) request += std::string(argv[i]) + "\r\n";
  request += "\r\n";

  int ep = epoll_create1(0);
  std::vector<Conn> conns(static_cast<size_t>(connections));
  long errors = 0, requests = 0, non2xx = 0;
  // Latency histogram in µs, 0..1 s (the last bucket holds anything slower).
  std::vector<long> hist(1000001, 0);

  auto send = [&](size_t i) {
    Conn& c = conns[i];
    c.sentAt = now();
    // A request is ~100 bytes: one non-blocking write always takes it whole on a fresh turn.
    if (write(c.fd, request.data(), request.size()) != static_cast<ssize_t>(request.size())) errors++;
  };
  auto open = [&](size_t i) -> bool {
    Conn& c = conns[i];
    c.fd = connectTo(port);
    if (c.fd < 0) return false;
    c.in.clear();
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = i;
    epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev);
    send(i);
    return true;
  };
  for (size_t i = 0; i < conns.size(); i++) {
    if (!open(i)) {
      fprintf(stderr, "busy-client: cannot connect to 127.0.0.1:%d: %s\n", port, strerror(errno));
      return 1;
    }
  }

  const double start = now();
  const double end = start + seconds;
  epoll_event events[64];
  char buf[65536];
  double t = start;
  while (t < end) {
    int n = epoll_wait(ep, events, 64, 0);  // timeout 0: poll, never sleep
    for (int k = 0; k < n; k++) {
      size_t i = events[k].data.u64;
      Conn& c = conns[i];
      for (;;) {
        ssize_t r = read(c.fd, buf, sizeof buf);
        if (r > 0) {
          c.in.append(buf, static_cast<size_t>(r));
          continue;
        }
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        // Closed or failed: count it, reconnect.
        errors++;
        epoll_ctl(ep, EPOLL_CTL_DEL, c.fd, nullptr);
        close(c.fd);
        if (!open(i)) {
          fprintf(stderr, "busy-client: reconnect failed: %s\n", strerror(errno));
          return 1;
        }
        break;
      }
      // Complete responses (Content-Length bodies; the bench's routes send nothing else).
      for (;;) {
        size_t headEnd = c.in.find("\r\n\r\n");
        if (headEnd == std::string::npos) break;
        std::string head = c.in.substr(0, headEnd);
        long length = headerValue(head, "content-length");
        if (length < 0) {
          fprintf(stderr, "busy-client: a response without content-length:\n%s\n", head.c_str());
          return 1;
        }
        size_t total = headEnd + 4 + static_cast<size_t>(length);
        if (c.in.size() < total) break;
        int status = head.size() > 12 ? atoi(head.c_str() + 9) : 0;
        if (status < 200 || status > 299) non2xx++;
        double done = now();
        long us = static_cast<long>((done - c.sentAt) * 1e6);
        hist[static_cast<size_t>(us < 0 ? 0 : (us > 1000000 ? 1000000 : us))]++;
        requests++;
        c.in.erase(0, total);
        send(i);
      }
    }
    t = now();
  }
  const double elapsed = now() - start;
  auto pct = [&](double p) {
    long want = static_cast<long>(static_cast<double>(requests) * p);
    long seen = 0;
    for (size_t us = 0; us < hist.size(); us++) {
      seen += hist[us];
      if (seen > want) return static_cast<double>(us) / 1000.0;
    }
    return 1000.0;
  };
  printf("{\"requests\":%ld,\"non2xx\":%ld,\"errors\":%ld,\"seconds\":%.3f,\"p50\":%.3f,\"p99\":%.3f}\n", requests, non2xx, errors, elapsed, pct(0.5), pct(0.99));
  for (auto& c : conns) close(c.fd);
  return requests > 0 ? 0 : 1;
}
