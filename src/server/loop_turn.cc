#include "server/loop_turn.h"

#include <utility>

namespace parley::server {
namespace {
thread_local LoopTurn* current_turn = nullptr;
}  // namespace

LoopTurn::LoopTurn(Post post) : previous_(current_turn), post_(std::move(post)) { current_turn = this; }

LoopTurn::~LoopTurn() { current_turn = previous_; }

LoopTurn* LoopTurn::Current() { return current_turn; }

}  // namespace parley::server
