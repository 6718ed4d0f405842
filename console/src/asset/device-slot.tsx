/** The physical device in this asset's slot (lifecycle service). */
import { api, call } from '../api/client.ts';
import type { Asset } from '../api/types.ts';
import { Link } from '../lib/router.tsx';
import { useApi } from '../lib/use-api.ts';
import { Empty, ErrorState, Loading } from '../ui/states.tsx';

export function DeviceSlot({ asset }: { asset: Asset }) {
  const devices = useApi(() => call(api.GET('/v1/devices', { params: { query: { assetId: asset.id, limit: 20 } } })), [asset.id]);
  if (devices.error) return <ErrorState error={devices.error} onRetry={devices.reload} title="Devices unavailable" />;
  if (!devices.data) return <Loading label="Loading devices…" />;
  if (devices.data.items.length === 0)
    return (
      <Empty>
        No device is registered at this asset. Register one and install it here from <Link to={`/devices?install=${asset.id}`}>Devices</Link>.
      </Empty>
    );
  return (
    <ul className="results">
      {devices.data.items.map((d) => (
        <li key={d.id}>
          <Link to={`/devices/${d.id}`}>{d.serial}</Link> <span className="badge">{d.state}</span> <span className="muted">{d.modelId} · firmware {d.firmware}</span>
        </li>
      ))}
    </ul>
  );
}
