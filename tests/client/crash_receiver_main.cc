// A receiving client in its own process, for client_crash_test: opens a
// profile, connects, and writes the body of every message it is told about
// to stdout unbuffered (one line each), until the server's queue is drained.
//
// With `stay`, it stays connected after the drain until it is killed.
//
// Usage: client_crash_receiver DATA_DIR KEY_FILE [stay]
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "client/client.h"

int main(int argc, char** argv) {
  using namespace parley::client;
  const bool stay = argc == 4 && std::string(argv[3]) == "stay";
  if (argc != 3 && !stay) {
    std::fprintf(stderr, "usage: client_crash_receiver DATA_DIR KEY_FILE [stay]\n");
    return 2;
  }
  ClientOptions options;
  options.data_dir = argv[1];
  options.key.kind = StoreKeySource::Kind::kKeyFile;
  options.key.key_file = argv[2];
  auto client = Client::Open(options);
  if (!client) return 3;
  (*client)->SetEventHandler([](const Event& e) {
    if (const auto* m = std::get_if<MessageReceived>(&e)) {
      const std::string line = m->message.body + "\n";
      // One write per line: what was printed is never held in a buffer that
      // SIGKILL would discard.
      if (write(STDOUT_FILENO, line.data(), line.size()) != static_cast<ssize_t>(line.size())) _exit(4);
    }
  });
  if (!(*client)->Connect()) return 5;
  if (!(*client)->WaitUntilDrained(std::chrono::seconds(60))) return 6;
  if (stay) {
    // Until SIGKILL (at most 10 minutes): its receive thread goes on (owed receipts, retries).
    for (int i = 0; i < 600; ++i) sleep(1);
    return 7;
  }
  (*client)->Disconnect();
  return 0;
}
