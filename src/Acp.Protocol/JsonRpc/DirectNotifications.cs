using System.Text;
using System.Text.Json;

namespace Acp.Protocol.JsonRpc;

/// <summary>
/// Notifications whose handlers take their params straight from the frame. A prompt turn streams a
/// <c>session/update</c> per token, so a client reads thousands a second; this path reads the frame once with a
/// <see cref="Utf8JsonReader"/> and skips StreamJsonRpc's general dispatch (a message object, a JSON document for the
/// params, a method invoked by reflection). A frame it does not fully understand (an id, a property it does not know,
/// a key twice, params that are not an object) goes the general way, where every error is answered as before.
/// </summary>
/// <remarks>Register before the peer runs; read on the read loop only.</remarks>
internal sealed class DirectNotifications
{
    private readonly List<(byte[] Method, Action<ReadOnlySpan<byte>> Handler)> _handlers = [];

    /// <summary>Delivers <paramref name="method"/>'s notifications to <paramref name="handler"/>, which gets the params' JSON.</summary>
    public void Add(string method, Action<ReadOnlySpan<byte>> handler) => _handlers.Add((Encoding.UTF8.GetBytes(method), handler));

    /// <summary>
    /// Finds the handler of a frame that is exactly <c>{"jsonrpc":"2.0","method":M,"params":{…}}</c> (in any order,
    /// whitespace allowed) for a registered M, and where its params are.
    /// </summary>
    public bool TryRead(ReadOnlySpan<byte> frame, out Action<ReadOnlySpan<byte>>? handler, out Range parameters)
    {
        handler = null;
        parameters = default;
        if (_handlers.Count == 0)
        {
            return false;
        }

        try
        {
            return TryReadCore(frame, ref handler, ref parameters);
        }
        catch (JsonException)
        {
            // Not JSON, or not this shape: the general way answers it.
            handler = null;
            return false;
        }
    }

    private bool TryReadCore(ReadOnlySpan<byte> frame, ref Action<ReadOnlySpan<byte>>? handler, ref Range parameters)
    {
        var reader = new Utf8JsonReader(frame);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return false;
        }

        bool version = false;
        bool hasParams = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("jsonrpc"u8))
            {
                if (version || !reader.Read() || reader.TokenType != JsonTokenType.String || !reader.ValueTextEquals("2.0"u8))
                {
                    return false;
                }

                version = true;
            }
            else if (reader.ValueTextEquals("method"u8))
            {
                if (handler is not null || !reader.Read() || reader.TokenType != JsonTokenType.String || (handler = Find(ref reader)) is null)
                {
                    return false;
                }
            }
            else if (reader.ValueTextEquals("params"u8))
            {
                if (hasParams || !reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                {
                    return false;
                }

                int start = (int)reader.TokenStartIndex;
                reader.Skip();
                parameters = start..(int)reader.BytesConsumed;
                hasParams = true;
            }
            else
            {
                return false;
            }
        }

        // The object is closed and nothing follows it (a second value throws).
        return reader.TokenType == JsonTokenType.EndObject && !reader.Read() && version && hasParams && handler is not null;
    }

    private Action<ReadOnlySpan<byte>>? Find(ref Utf8JsonReader reader)
    {
        foreach ((byte[] method, Action<ReadOnlySpan<byte>> handler) in _handlers)
        {
            if (reader.ValueTextEquals(method))
            {
                return handler;
            }
        }

        return null;
    }
}
