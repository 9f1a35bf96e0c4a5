// Validates Kubernetes objects offline, against the JSON schemas of kubernetes-models (core,
// apps, policy...) and @kubernetes-models/prometheus-operator, AND reports every field those
// schemas do not know: the schemas allow unknown fields (as the API server does unless asked to
// be strict), but a misspelt field in a chart is a bug that nothing else would catch.
//
//   node validate_k8s.js MODELS_NODE_MODULES FILE.json
// FILE.json is a list of {"source": "...", "object": {...}}. Prints one line per object
// ("ok SOURCE KIND/NAME" or "error SOURCE KIND/NAME: what"), exits 1 when any is invalid, 2 on
// a usage error.
//
// Unknown fields are found by watching the validator: every object is wrapped in a Proxy that
// records which keys the compiled schema reads. A key it never read is not in the schema. An
// object whose keys it enumerated is a map (labels, annotations, resources.limits...), whose keys
// are all allowed.
"use strict";
const path = require("path");
const fs = require("fs");

function usage(message) {
  process.stderr.write(`validate_k8s: ${message}\nusage: node validate_k8s.js MODELS_NODE_MODULES FILE.json\n`);
  process.exit(2);
}
if (process.argv.length !== 4) usage("expected 2 arguments");
const modules = process.argv[2];
const load = (name) => require(path.join(modules, name));

// apiVersion/kind -> model class, from every namespace the packages export.
const models = new Map();
function collect(namespace, depth) {
  if (!namespace || depth > 3) return;
  for (const value of Object.values(namespace)) {
    if (typeof value === "function" && value.apiVersion && value.kind) {
      models.set(`${value.apiVersion}/${value.kind}`, value);
    } else if (value && typeof value === "object") {
      collect(value, depth + 1);
    }
  }
}
collect(load("kubernetes-models"), 0);
collect(load("@kubernetes-models/prometheus-operator"), 0);

function track(value, where, records) {
  if (value === null || typeof value !== "object") return value;
  const record = { where, value, read: new Set(), enumerated: false };
  records.push(record);
  const copy = Array.isArray(value)
    ? value.map((item, i) => track(item, `${where}[${i}]`, records))
    : Object.fromEntries(
        Object.entries(value).map(([k, v]) => [k, track(v, `${where}.${k}`, records)]));
  return new Proxy(copy, {
    get(target, key, receiver) {
      if (typeof key === "string") record.read.add(key);
      return Reflect.get(target, key, receiver);
    },
    has(target, key) {
      if (typeof key === "string") record.read.add(key);
      return Reflect.has(target, key);
    },
    getOwnPropertyDescriptor(target, key) {
      if (typeof key === "string") record.read.add(key);
      return Reflect.getOwnPropertyDescriptor(target, key);
    },
    ownKeys(target) {
      record.enumerated = true;
      return Reflect.ownKeys(target);
    },
  });
}

function check(object) {
  if (!object || typeof object !== "object" || Array.isArray(object)) return ["not an object"];
  const model = models.get(`${object.apiVersion}/${object.kind}`);
  if (!model) return [`no schema for apiVersion ${object.apiVersion}, kind ${object.kind}`];
  const records = [];
  const watched = track(object, "", records);
  try {
    model.prototype.validate.call(watched);
  } catch (e) {
    return [String(e.message || e)];
  }
  const unknown = [];
  for (const r of records) {
    if (Array.isArray(r.value) || r.enumerated) continue;
    for (const key of Object.keys(r.value)) {
      if (!r.read.has(key)) unknown.push(`unknown field ${r.where}.${key}`);
    }
  }
  return unknown;
}

let items;
try {
  items = JSON.parse(fs.readFileSync(process.argv[3], "utf8"));
} catch (e) {
  usage(`cannot read ${process.argv[3]}: ${e.message}`);
}
if (!Array.isArray(items)) usage("the file must hold a JSON list");
let failed = 0;
for (const { source, object } of items) {
  const name = `${object && object.kind}/${object && object.metadata && object.metadata.name}`;
  const errors = check(object);
  if (errors.length === 0) {
    console.log(`ok ${source} ${name}`);
  } else {
    failed++;
    for (const e of errors) console.log(`error ${source} ${name}: ${e}`);
  }
}
console.log(`${items.length - failed}/${items.length} valid (${models.size} kinds known)`);
process.exit(failed ? 1 : 0);
