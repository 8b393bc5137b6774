/** A form generated from a JSON Schema (objects, strings, numbers, integers, booleans, enums,
 * nullable fields, nested objects, lists of scalars); used for node parameters and the config
 * builder. */
import type { JsonSchema } from "../api/types";
import { Field, Input, Select } from "../ui";

interface Props {
  schema: JsonSchema;
  value: Record<string, unknown>;
  onChange: (value: Record<string, unknown>) => void;
  disabled?: boolean;
  /** The root schema, for `$ref` lookups (defaults to `schema`). */
  root?: JsonSchema;
  path?: string;
}

/** `schema` with its `$ref` followed and a nullable `anyOf` reduced to the non-null branch. */
export function resolve(schema: JsonSchema, root: JsonSchema): JsonSchema {
  let current = schema;
  for (let depth = 0; depth < 20; depth += 1) {
    if (current.$ref) {
      const name = current.$ref.split("/").pop() ?? "";
      const target = root.$defs?.[name] ?? root.definitions?.[name];
      if (!target) return current;
      current = { ...target, ...current, $ref: undefined };
      continue;
    }
    if (current.anyOf) {
      const branch = current.anyOf.find((s) => s.type !== "null");
      if (!branch) return current;
      current = { ...branch, title: current.title ?? branch.title, description: current.description ?? branch.description, default: current.default ?? branch.default, anyOf: undefined };
      continue;
    }
    return current;
  }
  return current;
}

function typeOf(schema: JsonSchema): string {
  const t = Array.isArray(schema.type) ? schema.type.find((x) => x !== "null") : schema.type;
  if (t) return t;
  if (schema.properties) return "object";
  if (schema.enum) return "enum";
  return "string";
}

function ScalarInput({ name, schema, value, onChange, disabled }: { name: string; schema: JsonSchema; value: unknown; onChange: (v: unknown) => void; disabled?: boolean }) {
  const type = typeOf(schema);
  if (schema.enum)
    return (
      <Select name={name} disabled={disabled} value={value === undefined || value === null ? "" : String(value)} onChange={(e) => onChange(schema.enum?.find((v) => String(v) === e.target.value))}>
        <option value="">—</option>
        {schema.enum.map((option) => (
          <option key={String(option)} value={String(option)}>
            {String(option)}
          </option>
        ))}
      </Select>
    );
  if (type === "boolean")
    return <input type="checkbox" name={name} disabled={disabled} checked={value === true} onChange={(e) => onChange(e.target.checked)} />;
  if (type === "number" || type === "integer")
    return (
      <Input
        type="number"
        name={name}
        disabled={disabled}
        min={schema.minimum}
        max={schema.maximum}
        step={type === "integer" ? 1 : "any"}
        value={typeof value === "number" ? value : ""}
        onChange={(e) => onChange(e.target.value === "" ? undefined : type === "integer" ? parseInt(e.target.value, 10) : Number(e.target.value))}
      />
    );
  if (type === "array") {
    const itemType = schema.items ? typeOf(schema.items) : "string";
    const numeric = itemType === "number" || itemType === "integer";
    const sep = numeric ? "," : "\n";
    return (
      <textarea
        className="mf-input"
        name={name}
        disabled={disabled}
        rows={numeric ? 1 : 3}
        placeholder={numeric ? "comma-separated" : "one per line"}
        value={Array.isArray(value) ? value.join(numeric ? ", " : "\n") : ""}
        onChange={(e) => {
          const items = e.target.value.split(sep).map((s) => s.trim()).filter(Boolean);
          onChange(numeric ? items.map(Number) : items);
        }}
      />
    );
  }
  return <Input name={name} disabled={disabled} value={typeof value === "string" ? value : value === undefined || value === null ? "" : String(value)} onChange={(e) => onChange(e.target.value === "" ? undefined : e.target.value)} />;
}

/** The form for an object schema: one field per property, nested objects as fieldsets. */
export function SchemaForm({ schema, value, onChange, disabled, root, path = "" }: Props) {
  const top = root ?? schema;
  const object = resolve(schema, top);
  const required = new Set(object.required ?? []);
  const set = (key: string, v: unknown) => {
    const rest = Object.fromEntries(Object.entries(value).filter(([k]) => k !== key));
    onChange(v === undefined ? rest : { ...rest, [key]: v });
  };
  return (
    <div className="mf-schema-form">
      {Object.entries(object.properties ?? {}).map(([key, raw]) => {
        const prop = resolve(raw, top);
        const name = path ? `${path}.${key}` : key;
        const label = `${prop.title ?? key}${required.has(key) ? " *" : ""}`;
        if (typeOf(prop) === "object" && prop.properties)
          return (
            <fieldset key={key} className="mf-card">
              <legend>{label}</legend>
              <SchemaForm schema={prop} root={top} path={name} disabled={disabled} value={(value[key] as Record<string, unknown>) ?? {}} onChange={(v) => set(key, v)} />
            </fieldset>
          );
        return (
          <Field key={key} label={label} hint={prop.description}>
            <ScalarInput name={name} schema={prop} value={value[key] ?? prop.default} onChange={(v) => set(key, v)} disabled={disabled} />
          </Field>
        );
      })}
    </div>
  );
}
