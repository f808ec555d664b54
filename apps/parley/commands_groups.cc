// parley groups list|create|add|remove|admin|rename|leave|send.
#include <algorithm>
#include <map>

#include "base/hex.h"
#include "cli_common.h"

namespace parley::cli {

using namespace parley::client;

namespace {

// "group:…  friends  3 members: you (admin), bob (admin), carol": every
// member by name, its admins marked.
std::string HumanGroup(Client& client, const Group& g) {
  const auto own = client.account();
  std::map<std::string, std::string> usernames;  // one read of the contacts, not one per member
  if (auto contacts = client.Contacts()) {
    for (const auto& c : *contacts)
      if (!c.username.empty()) usernames[c.account.value().ToString()] = c.username;
  }
  std::string line = GroupConversation(g.id) + "  " + g.name + "  " + std::to_string(g.members.size()) +
                     " members" + (g.active ? "" : "  (left)") + (g.request ? "  (request)" : "");
  const char* separator = ": ";
  for (const AccountId& member : g.members) {
    const bool admin = std::find(g.admins.begin(), g.admins.end(), member) != g.admins.end();
    line += separator;
    const std::string id = member.value().ToString();
    const auto known = usernames.find(id);
    line += own && own->account == member ? "you" : known != usernames.end() ? known->second : id;
    if (admin) line += " (admin)";
    separator = ", ";
  }
  return line;
}

}  // namespace

void AddGroupCommands(Cli& cli) {
  struct Options {
    std::string group, name, text;
    std::vector<std::string> members;
    bool remove_admins = false;
  };
  auto o = std::make_shared<Options>();
  const Globals& g = cli.globals;

  auto* groups =
      cli.app.add_subcommand("groups", "Group chats: list, create, add, remove, admin, rename, leave, send");
  groups->add_subcommand("list", "List groups (the default)")->final_callback([] {});
  auto* create = groups->add_subcommand("create", "Create a group with you as admin");
  create->add_option("name", o->name, "The group's name")->required();
  create->add_option("members", o->members, "Usernames or account ids")->required();
  auto* add = groups->add_subcommand("add", "Add members (admins only)");
  add->add_option("group", o->group, "Group id, id prefix or name")->required();
  add->add_option("members", o->members)->required();
  auto* remove = groups->add_subcommand("remove", "Remove members (admins only)");
  remove->add_option("group", o->group, "Group id, id prefix or name")->required();
  remove->add_option("members", o->members)->required();
  auto* admin = groups->add_subcommand(
      "admin", "Make members admins, or with --remove take admin rights back (admins only)");
  admin->add_option("group", o->group, "Group id, id prefix or name")->required();
  admin->add_option("members", o->members)->required();
  admin->add_flag("--remove", o->remove_admins, "Take admin rights back (a group keeps at least one admin)");
  auto* rename = groups->add_subcommand("rename", "Rename a group (admins only)");
  rename->add_option("group", o->group, "Group id, id prefix or name")->required();
  rename->add_option("name", o->name)->required();
  auto* leave = groups->add_subcommand("leave", "Leave a group on all your devices");
  leave->add_option("group", o->group, "Group id, id prefix or name")->required();
  auto* send = groups->add_subcommand("send", "Send a text message to a group");
  send->add_option("group", o->group, "Group id, id prefix or name")->required();
  send->add_option("text", o->text, "The message")->required();

  cli.On(groups, [o, &g, create, add, remove, admin, rename, leave, send](Client& client) {
    if (create->parsed()) {
      auto created = client.CreateGroup(o->name, o->members);
      if (!created) return Report(g, created.error());
      return Ok(g, GroupJson(*created), "created " + HumanGroup(client, *created));
    }
    if (!add->parsed() && !remove->parsed() && !admin->parsed() && !rename->parsed() && !leave->parsed() &&
        !send->parsed()) {
      auto list = client.Groups();
      if (!list) return Report(g, list.error());
      json j = json::array();
      std::string human;
      for (const auto& group : *list) {
        j.push_back(GroupJson(group));
        human += HumanGroup(client, group) + "\n";
      }
      if (!human.empty()) human.pop_back();
      return Ok(g, j, human);
    }
    auto group = FindGroup(client, o->group);
    if (!group) return Report(g, group.error());
    if (send->parsed()) {
      auto sent = client.SendGroupText(*group, o->text);
      if (!sent) return Report(g, sent.error());
      return Ok(g, MessageJson(*sent), "sent #" + ShortMessageId(sent->id));
    }
    if (leave->parsed()) {
      if (auto s = client.LeaveGroup(*group); !s) return Report(g, s.error());
      return Ok(g, {{"left", *group}}, "left " + *group);
    }
    auto changed = add->parsed()      ? client.AddGroupMembers(*group, o->members)
                   : remove->parsed() ? client.RemoveGroupMembers(*group, o->members)
                   : admin->parsed()  ? (o->remove_admins ? client.RemoveGroupAdmins(*group, o->members)
                                                          : client.AddGroupAdmins(*group, o->members))
                                      : client.RenameGroup(*group, o->name);
    if (!changed) return Report(g, changed.error());
    return Ok(g, GroupJson(*changed), HumanGroup(client, *changed));
  });
}

}  // namespace parley::cli
