// Initiates the MongoDB replica set of docker-compose.cluster.yml, run once per `up` by its one-shot mongo-init
// service (`mongosh --nodb --quiet mongo-init-replica-set.js`):
//
//   1. waits until every member answers;
//   2. initiates rs0 with the three members, unless one of them already has a replica set configuration (a later
//      `up`, or a member re-created empty, which then rejoins by itself and copies the data from the others);
//   3. waits until the set has a primary, so the services that wait for this script find a writable database.
//
// Exits 0 when the set has a primary, 1 when something is still missing after two minutes (the script says what).
// deploy/compose/check makes sure SET and MEMBERS match the mongoN services and MONGODB_URI of the compose file.

const SET = "rs0";
const MEMBERS = ["mongo1:27017", "mongo2:27017", "mongo3:27017"];
const DEADLINE = Date.now() + 120 * 1000;

function say(message) {
  print(`mongo-init: ${message}`);
}

// Runs an admin command on one member alone (not through the set): its answer, or {ok: 0, codeName, errmsg} when
// the member does not answer or refuses the command.
function command(host, body) {
  let connection;
  try {
    connection = new Mongo(`mongodb://${host}/?directConnection=true&serverSelectionTimeoutMS=2000`);
    // Into a variable before returning: mongosh completes the call here, not after `finally` closed the connection.
    const answer = connection.getDB("admin").runCommand(body);
    return answer;
  } catch (error) {
    return { ok: 0, codeName: error.codeName, errmsg: error.message };
  } finally {
    if (connection) {
      connection.close();
    }
  }
}

// The member's `hello` answer, or null while it does not answer.
function hello(host) {
  const answer = command(host, { hello: 1 });
  return answer.ok ? answer : null;
}

// The `hello` answer of the first member for which `wanted(answer)` holds, or null. (A plain loop: mongosh cannot
// call a function that talks to a server from a built-in such as Array.prototype.map.)
function firstMember(wanted) {
  for (const host of MEMBERS) {
    const answer = hello(host);
    if (answer && wanted(answer)) {
      return answer;
    }
  }
  return null;
}

// Polls `probe` every second until it returns something, and gives up at the deadline.
function waitFor(what, probe) {
  for (;;) {
    const found = probe();
    if (found) {
      return found;
    }
    if (Date.now() > DEADLINE) {
      say(`gave up waiting for ${what}`);
      quit(1);
    }
    sleep(1000);
  }
}

for (const host of MEMBERS) {
  waitFor(`${host} to answer`, () => hello(host));
}

const configured = firstMember((answer) => answer.setName);
if (configured && configured.setName !== SET) {
  say(`${configured.me} belongs to replica set ${configured.setName}, not ${SET}`);
  quit(1);
} else if (configured) {
  say(`replica set ${SET} is already initiated`);
} else {
  const config = { _id: SET, members: MEMBERS.map((host, id) => ({ _id: id, host })) };
  const result = command(MEMBERS[0], { replSetInitiate: config });
  if (result.ok) {
    say(`initiated replica set ${SET}: ${MEMBERS.join(", ")}`);
  } else if (result.codeName === "AlreadyInitialized") {
    // Another run initiated it in the meantime: that is as good.
    say(`replica set ${SET} is already initiated`);
  } else {
    say(`could not initiate replica set ${SET}: ${result.errmsg}`);
    quit(1);
  }
}

const primary = waitFor(`a primary in replica set ${SET}`, () => {
  const answer = firstMember((member) => member.primary);
  return answer && answer.primary;
});
say(`replica set ${SET} has its primary: ${primary}`);
quit(0);
