#include "server/send_batch.h"

#include <utility>

namespace parley::server {
namespace {
thread_local SendBatch* current_batch = nullptr;
}  // namespace

SendBatch::SendBatch() : previous_(current_batch) { current_batch = this; }

SendBatch::~SendBatch() {
  current_batch = previous_;
  if (entries_.empty()) return;
  std::shared_ptr<BatchedSender> first = entries_.front().sender;
  first->PostBatch(std::move(entries_));
}

SendBatch* SendBatch::Current() { return current_batch; }

}  // namespace parley::server
