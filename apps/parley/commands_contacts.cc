// parley contacts, requests, verify.
#include "base/hex.h"
#include "cli_common.h"

namespace parley::cli {

using namespace parley::client;

void AddContactCommands(Cli& cli) {
  struct Options {
    std::string peer, scanned;
    bool mark = false;
  };
  auto o = std::make_shared<Options>();
  const Globals& g = cli.globals;

  auto* contacts = cli.app.add_subcommand("contacts", "List, add, block and unblock contacts");
  auto* contacts_add = contacts->add_subcommand("add", "Add a contact by username");
  contacts_add->add_option("username", o->peer)->required();
  auto* contacts_block = contacts->add_subcommand("block", "Block a contact");
  contacts_block->add_option("peer", o->peer)->required();
  auto* contacts_unblock = contacts->add_subcommand("unblock", "Unblock a contact");
  contacts_unblock->add_option("peer", o->peer)->required();

  auto* requests =
      cli.app.add_subcommand("requests", "Message requests from strangers (S2): list, accept, block");
  auto* requests_accept = requests->add_subcommand("accept", "Accept a request");
  requests_accept->add_option("peer", o->peer)->required();
  auto* requests_block = requests->add_subcommand("block", "Block the sender of a request");
  requests_block->add_option("peer", o->peer)->required();

  auto run = [o, &g, requests, contacts_add, contacts_block, contacts_unblock, requests_accept,
              requests_block](Client& client) {
    ClientStatus done;
    std::string what;
    if (contacts_add->parsed()) {
      auto added = client.AddContact(o->peer);
      if (!added) return Report(g, added.error());
      return Ok(g, ContactJson(*added), "added " + added->username);
    }
    if (contacts_block->parsed() || requests_block->parsed()) {
      done = client.Block(o->peer);
      what = "blocked ";
    } else if (contacts_unblock->parsed()) {
      done = client.Unblock(o->peer);
      what = "unblocked ";
    } else if (requests_accept->parsed()) {
      done = client.AcceptRequest(o->peer);
      what = "accepted ";
    } else {
      auto list = requests->parsed() ? client.Requests() : client.Contacts();
      if (!list) return Report(g, list.error());
      json j = json::array();
      std::string human;
      for (const auto& c : *list) {
        j.push_back(ContactJson(c));
        human += (c.username.empty() ? std::string("(unknown)") : c.username) + "  " +
                 c.account.value().ToString() + "  " + StateName(c.state) + (c.verified ? "  verified" : "") +
                 (c.identity_changed ? "  IDENTITY CHANGED" : "") + "\n";
      }
      if (!human.empty()) human.pop_back();
      return Ok(g, j, human);
    }
    if (!done) return Report(g, done.error());
    return Ok(g, {{"done", true}}, what + o->peer);
  };
  cli.On(contacts, run);
  cli.On(requests, run);

  auto* verify =
      cli.app.add_subcommand("verify", "Show the safety number with a contact; --mark to mark it verified");
  verify->add_option("peer", o->peer)->required();
  verify->add_flag("--mark", o->mark, "Mark the contact verified (after comparing the numbers)");
  verify->add_option("--scanned", o->scanned, "The contact's scannable safety number in hex, to compare");
  cli.On(verify, [o, &g](Client& client) {
    std::optional<std::vector<std::uint8_t>> scanned_bytes;
    if (!o->scanned.empty()) {
      auto bytes = FromHex(o->scanned);
      if (!bytes) return Report(g, {ClientErrc::kInvalidArgument, "--scanned is hex"});
      scanned_bytes = *bytes;
    }
    if (o->mark || scanned_bytes) {
      if (auto s = client.MarkVerified(o->peer, scanned_bytes); !s) return Report(g, s.error());
    }
    auto number = client.GetSafetyNumber(o->peer);
    if (!number) return Report(g, number.error());
    std::string spaced;
    for (std::size_t i = 0; i < number->digits.size(); i += 5) {
      spaced += number->digits.substr(i, 5) + ((i / 5) % 4 == 3 ? "\n" : " ");
    }
    return Ok(g,
              {{"safetyNumber", number->digits},
               {"scannable", ToHex(number->scannable)},
               {"verified", number->verified}},
              "safety number with " + o->peer + (number->verified ? " (verified)" : "") + ":\n" + spaced +
                  "scannable: " + ToHex(number->scannable));
  });
}

}  // namespace parley::cli
