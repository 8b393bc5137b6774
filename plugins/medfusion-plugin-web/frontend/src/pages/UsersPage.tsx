/** User management for admins: list, add, change role, delete. */
import { useState, type FormEvent } from "react";
import { api } from "../api/client";
import type { NewUser, Role, User, UserChange } from "../api/types";
import { useApi } from "../lib/useApi";
import { ActionButton, Card, ErrorLine, Field, Input, Page, Select } from "../ui";

const ROLES: Role[] = ["admin", "researcher", "viewer"];

export default function UsersPage() {
  const users = useApi<User[]>("/api/users");
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [role, setRole] = useState<Role>("researcher");
  const [error, setError] = useState<string | null>(null);
  const done = () => {
    setError(null);
    users.reload();
  };
  const fail = (err: Error) => setError(err.message);
  const add = (event: FormEvent) => {
    event.preventDefault();
    api.post("/api/users", { username, password, role } satisfies NewUser).then(done, fail);
  };
  return (
    <Page title="Users">
      <ErrorLine error={users.error ?? error} />
      <Card title="Add a user">
        <form className="mf-row" onSubmit={add}>
          <Field label="User name">
            <Input name="new-username" value={username} onChange={(e) => setUsername(e.target.value)} />
          </Field>
          <Field label="Password">
            <Input name="new-password" type="password" value={password} onChange={(e) => setPassword(e.target.value)} />
          </Field>
          <Field label="Role">
            <Select name="new-role" value={role} onChange={(e) => setRole(e.target.value as Role)}>
              {ROLES.map((r) => (
                <option key={r}>{r}</option>
              ))}
            </Select>
          </Field>
          <ActionButton type="submit" variant="primary">
            Add
          </ActionButton>
        </form>
      </Card>
      <Card title="Users">
        <table className="mf-table">
          <tbody>
            {(users.data ?? []).map((u) => (
              <tr key={u.id}>
                <td>{u.username}</td>
                <td>
                  <Select aria-label={`role of ${u.username}`} value={u.role} onChange={(e) => api.patch(`/api/users/${u.id}`, { role: e.target.value as Role } satisfies UserChange).then(done, fail)}>
                    {ROLES.map((r) => (
                      <option key={r}>{r}</option>
                    ))}
                  </Select>
                </td>
                <td>
                  <ActionButton variant="danger" onClick={() => api.del(`/api/users/${u.id}`).then(done, fail)}>
                    Delete
                  </ActionButton>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </Card>
    </Page>
  );
}
