#include "protocol/session_state.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "protocol/limits.h"

namespace parley::protocol {

namespace {

// Steps chain from its index to counter (counter >= chain.index), collecting
// the seeds of the skipped messages that will be kept, and returns the keys
// for counter and the chain one past it.
void StepChain(ChainKey chain, std::uint32_t counter, DecryptPlan& plan) {
  const std::uint32_t keep_from =
      counter > kMaxMessageKeysPerChain ? counter - static_cast<std::uint32_t>(kMaxMessageKeysPerChain) : 0;
  if (counter > chain.index) plan.new_skipped.reserve(counter - std::max(chain.index, keep_from));
  while (chain.index < counter) {
    if (chain.index >= keep_from) {
      ChainKey::Step step = chain.Advance();
      plan.new_skipped.push_back(SkippedMessageKey{chain.index, std::move(step.seed)});
      chain = std::move(step.next);
    } else {
      chain = chain.Next();
    }
  }
  ChainKey::Step step = chain.Advance();
  plan.keys = MessageKeys::Derive(step.seed);
  plan.next_chain = std::move(step.next);
}

void AppendSkipped(ReceiverChain& chain, std::vector<SkippedMessageKey>&& added) {
  if (added.empty()) return;
  const std::size_t total = chain.skipped.size() + added.size();
  if (total > kMaxMessageKeysPerChain) {
    const std::size_t drop = std::min(chain.skipped.size(), total - kMaxMessageKeysPerChain);
    chain.skipped.erase(chain.skipped.begin(), chain.skipped.begin() + static_cast<std::ptrdiff_t>(drop));
  }
  for (auto& k : added) chain.skipped.push_back(std::move(k));
}

}  // namespace

const ReceiverChain* SessionState::FindReceiverChain(const crypto::PublicKey& ratchet_key) const {
  for (const auto& chain : receiver_chains) {
    if (chain.ratchet_key == ratchet_key) return &chain;
  }
  return nullptr;
}

void SessionState::AddReceiverChain(ReceiverChain chain) {
  receiver_chains.push_back(std::move(chain));
  if (receiver_chains.size() > kMaxReceiverChains) {
    receiver_chains.erase(
        receiver_chains.begin(),
        receiver_chains.begin() + static_cast<std::ptrdiff_t>(receiver_chains.size() - kMaxReceiverChains));
  }
}

ProtocolResult<DecryptPlan> PlanDecrypt(const SessionState& state, const SignalMessage& message,
                                        std::uint32_t max_jump) {
  const std::uint32_t counter = message.counter;
  if (counter == std::numeric_limits<std::uint32_t>::max()) {
    return Fail(ProtocolErrc::kTooFarInFuture, "counter at the end of the chain");
  }
  DecryptPlan plan;
  for (std::size_t i = 0; i < state.receiver_chains.size(); ++i) {
    const ReceiverChain& chain = state.receiver_chains[i];
    if (!(chain.ratchet_key == message.ratchet_key)) continue;
    plan.chain_index = i;
    if (counter < chain.chain_key.index) {
      const auto it =
          std::lower_bound(chain.skipped.begin(), chain.skipped.end(), counter,
                           [](const SkippedMessageKey& k, std::uint32_t c) { return k.counter < c; });
      if (it == chain.skipped.end() || it->counter != counter) {
        return Fail(ProtocolErrc::kDuplicateMessage, "message key already used");
      }
      plan.kind = DecryptPlan::Kind::kSkippedKey;
      plan.skipped_index = static_cast<std::size_t>(it - chain.skipped.begin());
      plan.keys = MessageKeys::Derive(it->seed);
      return plan;
    }
    if (counter - chain.chain_key.index > max_jump) {
      return Fail(ProtocolErrc::kTooFarInFuture, "message too far ahead of its chain");
    }
    plan.kind = DecryptPlan::Kind::kExistingChain;
    StepChain(chain.chain_key, counter, plan);
    return plan;
  }

  if (counter > max_jump) return Fail(ProtocolErrc::kTooFarInFuture, "message too far ahead of its chain");
  auto step = RootStep(state.root_key, message.ratchet_key, state.sender_ratchet.private_key);
  if (!step) return tl::unexpected(step.error());
  plan.kind = DecryptPlan::Kind::kNewChain;
  plan.their_ratchet_key = message.ratchet_key;
  plan.receiving_root = std::move(step->root);
  StepChain(step->chain, counter, plan);
  return plan;
}

ProtocolStatus FinishPlan(DecryptPlan& plan, Rng& rng) {
  if (plan.kind != DecryptPlan::Kind::kNewChain || plan.finished) return Ok<ProtocolErrc>();
  crypto::KeyPair next = crypto::KeyPair::Generate(rng);
  auto step = RootStep(plan.receiving_root, plan.their_ratchet_key, next.private_key);
  if (!step) return tl::unexpected(step.error());
  plan.sending_root = std::move(step->root);
  plan.new_sender_chain = std::move(step->chain);
  plan.new_sender_ratchet = std::move(next);
  plan.finished = true;
  return Ok<ProtocolErrc>();
}

void ApplyPlan(SessionState& state, DecryptPlan&& plan) {
  switch (plan.kind) {
    case DecryptPlan::Kind::kSkippedKey: {
      auto& skipped = state.receiver_chains[plan.chain_index].skipped;
      skipped.erase(skipped.begin() + static_cast<std::ptrdiff_t>(plan.skipped_index));
      break;
    }
    case DecryptPlan::Kind::kExistingChain: {
      ReceiverChain& chain = state.receiver_chains[plan.chain_index];
      chain.chain_key = std::move(plan.next_chain);
      AppendSkipped(chain, std::move(plan.new_skipped));
      break;
    }
    case DecryptPlan::Kind::kNewChain: {
      ReceiverChain chain;
      chain.ratchet_key = plan.their_ratchet_key;
      chain.chain_key = std::move(plan.next_chain);
      AppendSkipped(chain, std::move(plan.new_skipped));
      state.AddReceiverChain(std::move(chain));
      state.root_key = std::move(plan.sending_root);
      state.previous_counter = state.sender_chain.index > 0 ? state.sender_chain.index - 1 : 0;
      state.sender_ratchet = std::move(plan.new_sender_ratchet);
      state.sender_chain = std::move(plan.new_sender_chain);
      break;
    }
  }
  state.pending_prekey.reset();
}

}  // namespace parley::protocol
